#!/bin/bash
# docs:sync - the documentation follows the CLI. For every built tool (ovnet-* in OVNET_BIN), for
# the top level and for every command, each option `--help` lists (short and long spelling) must
# head an entry (.TP) of the man page (man/<tool>.8, roff escapes normalised) and be offered by the
# generated bash completion; every command must appear in the man page as "<tool> <command>" and
# be offered by the completion of "<tool> ". The pages must render without groff warnings, the
# overview man/ovnet.7 must list every tool, and the zsh completion must parse.
# Needs no root and no namespaces. Prints one line per missing item, then "N passed, M failed".
#
#   OVNET_BIN          directory of the built tools (default: <src>/build/tools)
#   OVNET_SRC          source tree (default: this file's ../..)
#   OVNET_COMPLETIONS  generated completions, bash/<tool> and zsh/_<tool> (default: OVNET_BIN/../completions)
set -uo pipefail
SRC=${OVNET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${OVNET_BIN:-$SRC/build/tools}
COMP=${OVNET_COMPLETIONS:-$(dirname "$BIN")/completions}
export PATH="$BIN:$PATH"
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); }
missing() { FAILED=$((FAILED + 1)); echo "MISSING: $*"; }
check() { if eval "$1"; then ok; else missing "$2"; fi; }   # check CONDITION MESSAGE

tools=()
for f in "$BIN"/ovnet-*; do
  [ -f "$f" ] && [ -x "$f" ] && tools+=("${f##*/}")
done
if [ ${#tools[@]} = 0 ]; then
  echo "no ovnet-* tools in $BIN"
  exit 1
fi

# help_entries CMD...: the entries of `CMD... --help` as "SECTION<tab>FIRST-COLUMN", for the
# sections Options, Subcommands and Positionals (CLI11 format: entries two columns in, the first
# column ends at a double blank, wrapped descriptions are indented further).
help_entries() {
  "$@" --help 2>/dev/null | awk '
    /^Options:/ { s = "opt"; next }
    /^Subcommands:/ { s = "verb"; next }
    /^Positionals:/ { s = "pos"; next }
    /^[^ ]/ { s = ""; next }
    s != "" && /^  [^ ]/ { l = substr($0, 3); i = index(l, "  "); if (i) l = substr(l, 1, i - 1); print s "\t" l }'
}
# options_of CMD...: every spelling of every option ("-d", "--dev"), one a line.
options_of() { help_entries "$@" | awk -F'\t' '$1 == "opt" { split($2, w, " "); n = split(w[1], s, ","); for (i = 1; i <= n; i++) print s[i] }'; }
verbs_of() { help_entries "$@" | awk -F'\t' '$1 == "verb" { split($2, w, " "); print w[1] }'; }

# man_text PAGE: the page with font escapes, \- \& \e and macro names removed.
man_text() {
  sed -e 's/\\f[BIRP]//g; s/\\f(..//g; s/\\f\[[^]]*\]//g' \
      -e 's/\\-/-/g; s/\\&//g; s/\\e/\\/g; s/\\(em/ - /g; s/\\(dq/"/g' \
      -e 's/^\.[A-Za-z][A-Za-z]* *//' "$1"
}
# man_tags PAGE: the tags of the page's .TP entries (the line after each .TP), normalised. An
# option counts as documented when it heads an entry, not when it merely occurs in an example
# ("iptables -nvL -t mangle" does not document -t).
man_tags() { man_text <(awk 'prev == ".TP" { print } { prev = $0 }' "$1"); }
# in_text TEXT WORD: WORD occurs in TEXT not as part of a longer word or option.
in_text() { grep -Eq -- "(^|[^[:alnum:]_-])$2([^[:alnum:]_-]|\$)" <<<"$1"; }

# completions TOOL WORD...: what the generated bash completion offers for the command line
# "TOOL WORD..." (the last word is the one being completed), one a line.
completions() {
  local tool=$1
  shift
  bash --norc --noprofile -c '
    . "$1" || exit 1
    spec=$(complete -p "$2") || exit 1
    [[ $spec =~ -F\ ([^ ]+) ]] || exit 1
    fn=${BASH_REMATCH[1]}
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP/bash/$tool" "$tool" "$@"
}
offered() { grep -qxF -- "$2" <<<"$1"; }   # offered LIST WORD

command -v groff >/dev/null || echo "note: groff not installed, rendering not checked"
command -v zsh >/dev/null || echo "note: zsh not installed, zsh completion not parsed"
overview=$(man_text "$SRC/man/ovnet.7" 2>/dev/null)
check '[ -n "$overview" ]' "man/ovnet.7"
if command -v groff >/dev/null && [ -n "$overview" ]; then
  warn=$(groff -man -Tutf8 -ww -z "$SRC/man/ovnet.7" 2>&1)
  check '[ -z "$warn" ]' "man/ovnet.7 renders without warnings: ${warn%%$'\n'*}"
fi

for tool in "${tools[@]}"; do
  page=$SRC/man/$tool.8
  if [ ! -f "$page" ]; then
    missing "$tool: man page man/$tool.8"
    continue
  fi
  ok
  text=$(man_text "$page")
  tags=$(man_tags "$page")
  if command -v groff >/dev/null; then
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    check '[ -z "$warn" ]' "$tool: man/$tool.8 renders without warnings: $(grep -c '^' <<<"$warn"), first: ${warn%%$'\n'*}"
  fi
  check 'in_text "$overview" "$tool"' "$tool: listed in man/ovnet.7"
  check '[ -f "$COMP/bash/$tool" ]' "$tool: bash completion $COMP/bash/$tool"
  check '[ -f "$COMP/zsh/_$tool" ] && grep -q "^#compdef $tool\$" "$COMP/zsh/_$tool"' \
        "$tool: zsh completion $COMP/zsh/_$tool with #compdef $tool"
  if command -v zsh >/dev/null && [ -f "$COMP/zsh/_$tool" ]; then
    check 'zsh -n "$COMP/zsh/_$tool" 2>/dev/null' "$tool: zsh completion parses (zsh -n)"
  fi

  gopts=$(options_of "$tool")
  verbs=$(verbs_of "$tool")
  # A tool without commands (ovnet-inspect) says so in its usage line (no SUBCOMMAND).
  check '[ -n "$gopts" ] && { [ -n "$verbs" ] || ! "$tool" --help 2>/dev/null | grep -q "^Usage:.*SUBCOMMAND"; }' \
        "$tool: options and commands in --help (format changed?)"
  top_dash=$(completions "$tool" -)
  top_verbs=$(completions "$tool" "")
  for o in $gopts; do
    check 'in_text "$tags" "$o"' "$tool: option $o has an entry (.TP) in man/$tool.8"
    check 'offered "$top_dash" "$o"' "$tool: option $o in the completion of '$tool -'"
  done
  for v in $verbs; do
    check 'in_text "$text" "$tool $v"' "$tool: command '$tool $v' in man/$tool.8"
    check 'offered "$top_verbs" "$v"' "$tool: command $v in the completion of '$tool '"
    vopts=$(options_of "$tool" "$v")
    check '[ -n "$vopts" ]' "$tool $v: options in --help (format changed?)"
    v_dash=$(completions "$tool" "$v" -)
    v_ddash=$(completions "$tool" "$v" --)
    for o in $vopts; do
      check 'in_text "$tags" "$o"' "$tool $v: option $o has an entry (.TP) in man/$tool.8"
      check 'offered "$v_dash" "$o"' "$tool $v: option $o in the completion of '$tool $v -'"
      case $o in
        --*) check 'offered "$v_ddash" "$o"' "$tool $v: option $o in the completion of '$tool $v --'" ;;
      esac
    done
    # The global options are accepted after the command too.
    for o in $gopts; do
      check 'offered "$v_dash" "$o"' "$tool $v: global option $o in the completion of '$tool $v -'"
    done
  done
done

echo "docs:sync: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
