# SPDX-License-Identifier: ISC
"""Private instances of real mail servers (Postfix, Exim, Dovecot
submission) for smtpsend's interoperability tests: see README."""
