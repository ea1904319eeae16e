/* SPDX-License-Identifier: ISC */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "harden.h"

void
harden_nodump(void)
{
	static const struct rlimit none = { 0, 0 };

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &none);
}
