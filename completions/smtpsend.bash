# SPDX-License-Identifier: ISC
# bash completion for smtpsend(1)
#
# Install as smtpsend in bash-completion's completions directory (and link
# sendmail to it when smtpsend is installed as sendmail), or source it.
# It needs nothing from the bash-completion package.

# The account names defined in the configuration files: the system file,
# then the file given with -C on the command line, else the user file.
_smtpsend_accounts()
{
	local i w cfile= file key rest name
	local -a files=(/etc/smtpsend.conf)
	local -A seen=()

	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) break ;;
		-C) cfile=${COMP_WORDS[i + 1]} ;;
		-C?*) cfile=${w#-C} ;;
		esac
	done
	if [[ -n $cfile ]]; then
		[[ $cfile == "~/"* ]] && cfile=$HOME/${cfile#"~/"}
		files+=("$cfile")
	elif [[ ${XDG_CONFIG_HOME-} == /* &&
	    -e $XDG_CONFIG_HOME/smtpsend/config ]]; then
		files+=("$XDG_CONFIG_HOME/smtpsend/config")
	elif [[ -e $HOME/.config/smtpsend/config ]]; then
		files+=("$HOME/.config/smtpsend/config")
	else
		files+=("$HOME/.smtpsendrc")
	fi
	for file in "${files[@]}"; do
		[[ -r $file && -f $file ]] || continue
		while read -r key rest; do
			[[ $key == account ]] || continue
			name=${rest%%:*}
			name=${name%%[[:space:]]*}
			[[ -n $name && -z ${seen[$name]-} ]] || continue
			seen[$name]=1
			printf '%s\n' "$name"
		done <"$file"
	done
}

# The ids of the outbox entries (smtpsend -bp), with the -C and -a of the
# command line, for --remove and -qI.
_smtpsend_ids()
{
	local i w
	local -a args=(-bp)

	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-C | -a) args+=("$w" "${COMP_WORDS[i + 1]}") ;;
		-C?* | -a?* | --account=*) args+=("$w") ;;
		esac
	done
	"${COMP_WORDS[0]}" "${args[@]}" 2>/dev/null |
	    sed -n 's/^\([0-9]\{8\}T[0-9]\{6\}Z-[0-9a-f]*\)!\{0,1\} .*/\1/p'
}

# Values of the option $1 that start with $2, into COMPREPLY.
_smtpsend_values()
{
	local opt=$1 cur=$2 head= w
	local -a words=()

	case $opt in
	-a | --account)
		mapfile -t words < <(_smtpsend_accounts)
		;;
	-B)
		words=(7BIT 8BITMIME)
		;;
	-N)
		# never, or a comma-separated list of the others
		if [[ $cur == *,* ]]; then
			head=${cur%,*},
			cur=${cur##*,}
			for w in success failure delay; do
				[[ ,$head == *,$w,* ]] || words+=("$w")
			done
		else
			words=(never success failure delay)
		fi
		;;
	-R)
		words=(full hdrs)
		;;
	-b)
		# -bm deliver, -bp list the outbox, -bs SMTP on stdin, -bi no-op
		words=(m p s i)
		;;
	-C | --attach | --logfile | --tls-trust-file)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--tls | --tls-starttls | --tls-certcheck)
		words=(on off)
		;;
	--auth)
		words=(on off plain login cram-md5 xoauth2 oauthbearer external)
		;;
	--syslog)
		words=(on off LOG_MAIL LOG_USER LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2
		    LOG_LOCAL3 LOG_LOCAL4 LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7)
		;;
	--port)
		words=(587 465)
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -P "$head" -W "${words[*]}" -- "$cur")
}

_smtpsend()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= prefix= w c i j removing=
	local short='-i -t -v -B -C -F -f -N -R -V -a -r -b -q'
	local long='--account --auth --authorize --check --domain --due --from --help --host --json --logfile
	    --passwordeval --port --pretend --read-envelope-from --remove
	    --serverinfo --syslog
	    --timeout --tls --tls-certcheck --tls-fingerprint --tls-starttls
	    --tls-trust-file --user --version
	    --to --cc --bcc --subject --body --attach --header'
	# Short options that take a value, and long ones that require one.
	local shortarg=ABCFLNORVXabfho
	local longarg='|--account|--domain|--from|--host|--logfile|--passwordeval|--port|--timeout|--tls-fingerprint|--tls-trust-file|--user|'
	longarg+='--to|--cc|--bcc|--subject|--body|--attach|--header|'

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# Options are parsed POSIX-style: after the first recipient or "--"
	# every word is a recipient (after --remove, an outbox id).
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) return ;;
		--remove) removing=1 ;;
		--*=*) ;;
		--*)
			if [[ $longarg == *"|$w|"* ]]; then
				if [[ ${COMP_WORDS[i + 1]} == = ]]; then
					((i += 2))
				else
					((i++))
				fi
			elif [[ ${COMP_WORDS[i + 1]} == = ]]; then
				((i += 2))	# --tls = on, split at '='
			fi
			;;
		-?*)
			for ((j = 1; j < ${#w}; j++)); do
				c=${w:j:1}
				if [[ $shortarg == *"$c"* ]]; then
					((j + 1 == ${#w})) && ((i++))
					break
				fi
			done
			;;
		=) ;;
		*) [[ -n $removing ]] || return ;;
		esac
	done
	if [[ -n $removing && $cur != -* ]] || [[ $prev == -qI ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_smtpsend_ids)" -- "$cur")
		return
	fi

	# --opt=value: bash splits at '=' when it is in COMP_WORDBREAKS.
	if [[ $cur == = && $prev == --* ]]; then
		opt=$prev
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)) &&
	    [[ ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		prefix=$opt=
		cur=${cur#*=}
	fi
	if [[ -n $opt ]]; then
		_smtpsend_values "$opt" "$cur"
		if [[ -n $prefix ]]; then
			for i in "${!COMPREPLY[@]}"; do
				COMPREPLY[i]=$prefix${COMPREPLY[i]}
			done
		fi
		return
	fi

	# A value in the next word (after -a, -ta, --account, -b, ...).
	if [[ $prev =~ ^-[GIUitv]*([BCNRab])$ ]]; then
		_smtpsend_values "-${BASH_REMATCH[1]}" "$cur"
		return
	elif [[ $prev =~ ^-[GIUitv]*[AFLORVXfhor]$ ]]; then
		return
	fi
	case $prev in
	--account | --attach | --logfile | --tls-trust-file | --port)
		_smtpsend_values "$prev" "$cur"
		return
		;;
	--domain | --from | --host | --passwordeval | --timeout | --tls-fingerprint | \
	    --user | --to | --cc | --bcc | --subject | --body | --header)
		return
		;;
	esac

	case $cur in
	--*)
		mapfile -t COMPREPLY < <(compgen -W "$long" -- "$cur")
		;;
	-qI*)
		mapfile -t COMPREPLY < <(compgen -P -qI -W "$(_smtpsend_ids)" \
		    -- "${cur#-qI}")
		;;
	-q*)
		mapfile -t COMPREPLY < <(compgen -W "-q -qI -qR -qS" -- "$cur")
		;;
	-b*)
		# -bm, -bp, -bs, -bi: the mode is glued to -b
		_smtpsend_values -b "${cur:2}"
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=-b${COMPREPLY[i]}
		done
		;;
	-[aBCNR]?*)
		# A value glued to its option: -awork, -B8BITMIME
		_smtpsend_values "${cur:0:2}" "${cur:2}"
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${cur:0:2}${COMPREPLY[i]}
		done
		;;
	-*)
		mapfile -t COMPREPLY < <(compgen -W "$short $long" -- "$cur")
		;;
	esac
}

complete -F _smtpsend smtpsend sendmail
