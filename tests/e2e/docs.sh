# SPDX-License-Identifier: GPL-2.0-only
#
# The documentation and the installation: bpfnat(8) renders cleanly, says
# what `bpfnat --help` and include/bpfnat.h say, reads from the tree, and
# `make install` / `make uninstall` put and take exactly its files.
# modes: none

page=$BPFNAT_TOP/man/man8/bpfnat.8

# The page as man(1) shows it in 80 columns, plain text.
render() {
	MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$1"
}

# The lines of section $2 (a heading of the rendered page $1).
section() {
	awk -v want="$2" '/^[A-Z]/ { in_it = ($0 == want); next } in_it' <<<"$1"
}

# Each word of stdin that is not a tag of the rendered lines $1 (a .TP
# entry: the word begins its line, perhaps after "-x, "), on stdout.
untagged() {
	local text=$1 word
	while read -r word; do
		grep -qE -- "^ +(-[a-zA-Z], )?${word}( |,|\$)" <<<"$text" ||
			echo "$word"
	done
}

test_man_renders_without_warnings() {
	local err out
	err=$(mktemp)
	out=$(render "$page" 2>"$err")
	assert_eq "$(cat "$err")" "" "man -l's stderr"
	MANWIDTH=80 man --warnings -l "$page" >/dev/null 2>"$err"
	assert_eq "$(cat "$err")" "" "man --warnings -l's stderr"
	# groff's every warning, not only those man asks for
	groff -man -ww -z "$page" 2>"$err"
	assert_eq "$(cat "$err")" "" "groff -ww's stderr"
	rm -f "$err"
	assert_match "$out" "bpfnat - container networks" "NAME line"
	local width
	width=$(expand <<<"$out" | LC_ALL=C.UTF-8 wc -L)
	[[ $width -le 80 ]] || fail "the page is $width columns wide"
}

test_man_names_every_command_and_option_of_help() {
	local help text commands options missing
	help=$(bpfnat --help)
	text=$(render "$page")
	# "  bpfnat ns add NAME [--ip ADDR]...": the lowercase words
	commands=$(sed -n 's/^  bpfnat //p' <<<"$help" |
		awk '{ c = ""; for (i = 1; i <= NF && $i ~ /^[a-z]+$/; i++)
			c = c (c == "" ? "" : " ") $i; print c }' | sort -u)
	# options in the synopsis and the option list (indented lines), not
	# in the prose below (docker's -p)
	options=$(grep '^ ' <<<"$help" |
		grep -oE -- '(^|[][ |(,])(--[a-z][a-z0-9-]*|-[a-zA-Z])([]| ,=)]|$)' |
		grep -oE -- '--?[a-zA-Z][a-z0-9-]*' | sort -u)
	[[ $(wc -l <<<"$commands") -ge 13 ]] ||
		fail "parsed only these commands from --help: $commands"
	[[ $(wc -l <<<"$options") -ge 20 ]] ||
		fail "parsed only these options from --help: $options"
	missing=$(awk '{ print "bpfnat " $0 }' <<<"$commands" |
		untagged "$(section "$text" COMMANDS)")
	assert_eq "$missing" "" "commands of --help without an entry in COMMANDS"
	missing=$(untagged "$text" <<<"$options")
	assert_eq "$missing" "" "options of --help without an entry"
}

test_man_names_every_counter() {
	local names text missing
	names=$(grep -oE 'X\([A-Z_]+,[[:space:]]+"[a-z0-9_]+"\)' \
		"$BPFNAT_TOP/include/bpfnat.h" | grep -oE '"[a-z0-9_]+"' |
		tr -d '"')
	[[ $(wc -l <<<"$names") -ge 30 ]] ||
		fail "parsed only these counters from bpfnat.h: $names"
	text=$(render "$page")
	missing=$(untagged "$(section "$text" COUNTERS)" <<<"$names")
	assert_eq "$missing" "" "counters of include/bpfnat.h without an entry"
}

test_man_reads_from_the_tree() {
	local out
	out=$(cd "$BPFNAT_TOP" && MANWIDTH=80 man ./man/man8/bpfnat.8 2>&1)
	assert_match "$out" "BPFNAT\(8\)" "man ./man/man8/bpfnat.8"
	assert_match "$out" "EXIT STATUS" "the page's sections"
}

# Every file and directory under $1, relative to it.
tree() { (cd "$1" && find . -mindepth 1 | sort); }

test_make_install_uninstall() {
	local dest=/tmp/dest prefix=/usr/local want got
	mkdir -p "$dest$prefix/sbin" "$dest$prefix/share/man/man8" \
		"$dest/opt/cni/bin"
	# someone else's files, beside and in the directories install uses
	echo other >"$dest$prefix/sbin/other"
	echo other >"$dest$prefix/share/man/man8/other.8"
	echo other >"$dest/opt/cni/bin/other"
	local before
	before=$(tree "$dest")

	# -o: install the build under test as it is, never rebuild it (the
	# tests write nothing into the tree)
	step "make install DESTDIR=$dest"
	make --no-print-directory -C "$BPFNAT_TOP" -o "$BPFNAT" -o "$BPFNAT_BUILD/cni/bpfnat" \
		OUTPUT="$BPFNAT_BUILD" DESTDIR="$dest" install
	want=$(printf '%s\n' "$before" ./usr/local/sbin/bpfnat \
		./usr/local/share/man/man8/bpfnat.8 ./opt/cni/bin/bpfnat \
		./usr/local/share/bpfnat ./usr/local/share/bpfnat/bpfnat.conflist |
		sort)
	assert_eq "$(tree "$dest")" "$want" "the tree after install"
	assert_eq "$(stat -c %a "$dest$prefix/sbin/bpfnat")" 755 "CLI's mode"
	assert_eq "$(stat -c %a "$dest$prefix/share/man/man8/bpfnat.8")" 644 \
		"man page's mode"
	assert_eq "$(stat -c %a "$dest/opt/cni/bin/bpfnat")" 755 "plugin's mode"
	cmp -s "$BPFNAT_BUILD/cni/bpfnat" "$dest/opt/cni/bin/bpfnat" ||
		fail "the installed plugin is not the build's"
	jq -e '.plugins[0].type == "bpfnat"' \
		"$dest$prefix/share/bpfnat/bpfnat.conflist" >/dev/null ||
		fail "the example conflist"
	assert_eq "$("$dest$prefix/sbin/bpfnat" --version)" \
		"$(bpfnat --version)" "installed bpfnat --version"
	assert_match "$("$dest$prefix/sbin/bpfnat" --version)" '^bpfnat .+' \
		"--version's line"
	got=$(MANWIDTH=80 man -l "$dest$prefix/share/man/man8/bpfnat.8" 2>&1)
	assert_match "$got" "BPFNAT\(8\)" "man -l of the installed page"
	cmp -s "$page" "$dest$prefix/share/man/man8/bpfnat.8" ||
		fail "the installed page is not the tree's"

	step "make uninstall DESTDIR=$dest"
	make --no-print-directory -C "$BPFNAT_TOP" -o "$BPFNAT" -o "$BPFNAT_BUILD/cni/bpfnat" \
		OUTPUT="$BPFNAT_BUILD" DESTDIR="$dest" uninstall
	assert_eq "$(tree "$dest")" "$before" "the tree after uninstall"

	step "uninstall of an empty DESTDIR"
	rm -rf "$dest" && mkdir "$dest"
	make --no-print-directory -C "$BPFNAT_TOP" -o "$BPFNAT" -o "$BPFNAT_BUILD/cni/bpfnat" \
		OUTPUT="$BPFNAT_BUILD" DESTDIR="$dest" uninstall
	assert_eq "$(tree "$dest")" "" "an empty DESTDIR after uninstall"
}
