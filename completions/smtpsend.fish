# SPDX-License-Identifier: ISC
# fish completion for smtpsend(1). Install as smtpsend.fish in a directory of
# $fish_complete_path.

# The account names defined in the configuration files: the system file,
# then the file given with -C on the command line, else the user file.
function __smtpsend_accounts
    set -l files /etc/smtpsend.conf
    set -l cfile
    set -l want_file 0
    for tok in (commandline -opc)[2..-1]
        if test $want_file = 1
            set cfile $tok
            set want_file 0
            continue
        end
        switch $tok
            case --
                break
            case -C
                set want_file 1
            case '-C*'	# -C alone: above (fish 4 has no ? wildcard)
                set cfile (string sub -s 3 -- $tok)
        end
    end
    if test -n "$cfile"
        set -a files (string replace -r '^~/' "$HOME/" -- $cfile)
    else if string match -q '/*' -- "$XDG_CONFIG_HOME"; and test -e "$XDG_CONFIG_HOME/smtpsend/config"
        set -a files "$XDG_CONFIG_HOME/smtpsend/config"
    else if test -e "$HOME/.config/smtpsend/config"
        set -a files "$HOME/.config/smtpsend/config"
    else
        set -a files "$HOME/.smtpsendrc"
    end
    for file in $files
        test -f $file -a -r $file; or continue
        string replace -rf '^\s*account\s+([^\s:]+).*$' '$1' <$file
    end
end

# The ids of the outbox entries (smtpsend -bp), with the -C and -a of the
# command line: for --remove and -qI.
function __smtpsend_ids
    set -l tokens (commandline -opc)
    set -l args -bp
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -C -a
                set -a args $tokens[$i] $tokens[(math $i + 1)]
            case '-C*' '-a*' '--account=*'	# -C and -a alone: above
                set -a args $tokens[$i]
        end
        set i (math $i + 1)
    end
    command -q $tokens[1]; or return
    $tokens[1] $args 2>/dev/null | string replace -rf '^(\d{8}T\d{6}Z-[0-9a-f]+)!? .*$' '$1'
end

# -q's selector, glued: I (with an id), R or S.
function __smtpsend_qsel
    if string match -q -- '-qI*' (commandline -ct)
        for id in (__smtpsend_ids)
            printf 'I%s\tOutbox entry\n' $id
        end
        return
    end
    printf 'I\tby id\nR\tby recipient\nS\tby sender\n'
end

# The words after --remove, and the one after -qI, are outbox ids.
function __smtpsend_wants_id
    set -l tokens (commandline -opc)
    contains -- --remove $tokens; or test "$tokens[-1]" = -qI
end

# -N: never, or a comma-separated list of success, failure and delay.
function __smtpsend_notify
    set -l cur (commandline -ct)
    set -l head (string replace -r '[^,]*$' '' -- $cur)
    if test -z "$head"
        printf '%s\n' never success failure delay
        return
    end
    for w in success failure delay
        string match -q -- "*,$w,*" ",$head"; or echo $head$w
    end
end

# Options are parsed POSIX-style: none after the first recipient or "--".
function __smtpsend_options_allowed
    set -l tokens (commandline -opc)[2..-1]
    set -l skip 0
    for tok in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $tok
            case --
                return 1
            case '--*=*'
            case --account --domain --from --host --logfile --passwordeval --port --timeout --tls-fingerprint --tls-trust-file --user \
                --to --cc --bcc --subject --body --attach --header
                set skip 1
            case '--*'
            case '-*'	# not '-?*': fish 4 has no ? wildcard
                # The first letter that takes a value ends the word; if it
                # is the last one, the value is the next word.
                set -l letters (string split '' -- (string sub -s 2 -- $tok))
                for i in (seq (count $letters))
                    if string match -q -r '[ABCFLNORVXabfho]' -- $letters[$i]
                        test $i = (count $letters); and set skip 1
                        break
                    end
                end
            case '*'
                return 1
        end
    end
    return 0
end

complete -c smtpsend -e
complete -c smtpsend -f
set -l opt -c smtpsend -n __smtpsend_options_allowed

complete $opt -s i -d 'A line holding only a dot is data'
complete $opt -s t -d 'Also take recipients from the header'
complete $opt -s v -d 'Show the SMTP dialogue on stderr'
complete $opt -s B -x -a '7BIT 8BITMIME' -d 'Body type'
complete $opt -s C -r -F -d 'Configuration file instead of the user file'
complete $opt -s F -x -d 'Full name for a generated From field'
complete $opt -s f -l from -x -d 'Envelope sender'
complete $opt -s N -x -a '(__smtpsend_notify)' -d 'DSN notify'
complete $opt -s R -x -a 'full hdrs' -d 'DSN return'
complete $opt -s V -x -d 'DSN envelope identifier'
complete $opt -s a -l account -x -a '(__smtpsend_accounts)' -d 'Account to use'
complete $opt -s r -x -d 'Envelope sender'
complete $opt -s b -x -a 'm\tdeliver p\t"list the outbox" s\t"SMTP on stdin and stdout" i\tno-op' -d Mode
# -x: what follows -q is its selector, never more flags (-qa, -qB).
complete $opt -s q -x -a '(__smtpsend_qsel)' -d 'Send what the outbox holds now'
complete $opt -l due -d 'With -q: only entries whose retry time has come'
complete $opt -l json -d 'With -bp: the listing as postqueue -j JSON'
complete $opt -l remove -x -a '(__smtpsend_ids)' -d 'Delete outbox entries by id'
complete -c smtpsend -n __smtpsend_wants_id -f -a '(__smtpsend_ids)'
complete $opt -l authorize -d 'OAuth2: authorize the account once'

complete $opt -l auth -f -a 'on off plain login cram-md5 xoauth2 oauthbearer external' -d 'Authentication'
complete $opt -l domain -x -d 'Name given in EHLO'
complete $opt -l help -d 'Print the usage text'
complete $opt -l host -x -a '(__fish_print_hostnames)' -d Smarthost
complete $opt -l logfile -r -F -d 'Log file'
complete $opt -l passwordeval -x -a '(__fish_complete_command)' -d 'Command printing the password'
complete $opt -l port -x -a '587 465' -d 'Smarthost port'
complete $opt -l pretend -d 'Print what would be sent, send nothing'
complete $opt -l serverinfo -d 'Connect and describe the server, send nothing'
complete $opt -l check -d 'Log in and out: does the account work? Send nothing'
complete $opt -l read-envelope-from -d 'Take the envelope sender from the From header'
complete $opt -l syslog -f -a 'on off LOG_MAIL LOG_USER LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2 LOG_LOCAL3 LOG_LOCAL4 LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7' -d 'Log to syslog'
complete $opt -l timeout -x -d 'Seconds to wait'
complete $opt -l tls -f -a 'on off' -d 'Use TLS'
complete $opt -l tls-certcheck -f -a 'on off' -d 'Verify the server certificate'
complete $opt -l tls-fingerprint -x -d 'SHA-256 fingerprint of the server certificate'
complete $opt -l tls-starttls -f -a 'on off' -d 'Use STARTTLS'
complete $opt -l tls-trust-file -r -F -d 'Trusted CA certificates'
complete $opt -l user -x -d 'User name'
complete $opt -l version -d 'Print the version'

# Compose mode: smtpsend builds the message.
complete $opt -l to -x -d 'Compose: recipient in To'
complete $opt -l cc -x -d 'Compose: recipient in Cc'
complete $opt -l bcc -x -d 'Compose: recipient not shown in the header'
complete $opt -l subject -x -d 'Compose: subject'
complete $opt -l body -x -d 'Compose: text of the message'
complete $opt -l attach -r -F -d 'Compose: attach a file'
complete $opt -l header -x -d "Compose: header field, 'Name: value'"

complete -c sendmail -w smtpsend
