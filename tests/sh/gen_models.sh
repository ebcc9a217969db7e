#!/bin/sh
# tests: 41
# The builtin backend runs the shipped GGUF models (base, tuned, rl) or a given file, headless
# through the real binary; nodes record the model; what it cannot run is one line of error.
. "$(dirname "$0")/../lib.sh"
INFO="$TOOLS/session_info"
ROOT="${TERMLOOM_ROOT:?}"
field() { grep "^$1 " "$2" | cut -d' ' -f2; }
texts() { "$INFO" "$1" --texts | grep '^text ' | sort; }
# model_nodes NAME FILE: how many generated nodes record that model
model_nodes() { grep -E '"origin": ?"model"' "$2" | grep -Fc "\"model\":\"$1\""; }

# The default is the base model, found beside the program.
expect_exit models_default_base 0 "$T" gen --prompt "ROMEO:" -n 4 --depth 1 --seed 3 -o "$TMP/base.json"
check models_default_records_base test "$(model_nodes base "$TMP/base.json")" = 4
"$INFO" "$TMP/base.json" > "$TMP/base.info" 2>&1
check models_default_grows test "$(field model_nodes "$TMP/base.info")" = 4 -a "$(field tokens "$TMP/base.info")" -gt 40

# A named model: another model, so other text from the same seed; nodes say which.
expect_exit models_tuned 0 "$T" gen --model tuned --prompt "ROMEO:" -n 4 --depth 1 --seed 3 -o "$TMP/tuned.json"
check models_tuned_records_tuned test "$(model_nodes tuned "$TMP/tuned.json")" = 4
texts "$TMP/base.json" > "$TMP/tb"; texts "$TMP/tuned.json" > "$TMP/tt"
check models_tuned_writes_other_text test -s "$TMP/tt" -a "$(comm -12 "$TMP/tb" "$TMP/tt" | wc -l)" = 0
# The same seed and model give the same text again.
"$T" gen --model tuned --prompt "ROMEO:" -n 4 --depth 1 --seed 3 -o "$TMP/tuned2.json" 2>/dev/null
texts "$TMP/tuned2.json" > "$TMP/tt2"
check models_tuned_same_seed_same_text cmp -s "$TMP/tt" "$TMP/tt2"

# A file given by its path: the same model as by its name, recorded as the path given.
expect_exit models_file 0 "$T" gen --model "$ROOT/models/tuned.gguf" --prompt "ROMEO:" -n 4 --depth 1 --seed 3 -o "$TMP/file.json"
check models_file_records_path test "$(model_nodes "$ROOT/models/tuned.gguf" "$TMP/file.json")" = 4
texts "$TMP/file.json" > "$TMP/tf"
check models_file_same_as_name cmp -s "$TMP/tt" "$TMP/tf"
# Without $TERMLOOM_DATADIR a name is found beside the program (a build tree), or in the
# share folder of an install moved to another prefix.
mkdir -p "$TMP/tree" "$TMP/inst/bin" "$TMP/inst/share/termloom"
cp "$T" "$TMP/tree/termloom"; ln -s "$ROOT/models" "$TMP/tree/models"
cp "$T" "$TMP/inst/bin/termloom"; ln -s "$ROOT/models" "$TMP/inst/share/termloom/models"
expect_exit models_beside_program 0 env -u TERMLOOM_DATADIR "$TMP/tree/termloom" gen --model rl --prompt "ROMEO:" -n 2 --depth 1 --seed 3 -o "$TMP/tree.json"
check models_beside_program_records test "$(model_nodes rl "$TMP/tree.json")" = 2
expect_exit models_installed 0 env -u TERMLOOM_DATADIR "$TMP/inst/bin/termloom" gen --model rl --prompt "ROMEO:" -n 2 --depth 1 --seed 3 -o "$TMP/inst.json"
texts "$TMP/tree.json" > "$TMP/ttree"; texts "$TMP/inst.json" > "$TMP/tinst"
check models_installed_same_text test -s "$TMP/ttree" -a "$(model_nodes rl "$TMP/inst.json")" = 2
check models_installed_same_model cmp -s "$TMP/ttree" "$TMP/tinst"
rm -f "$TMP/tree/models"
expect_exit models_not_beside 1 env -u TERMLOOM_DATADIR "$TMP/tree/termloom" gen --model rl --prompt x -o "$TMP/x.json"
one_line_error models_not_beside_msg "model 'rl' not found"
# A name is looked for in $TERMLOOM_DATADIR/models too.
mkdir -p "$TMP/data/models"
cp "$ROOT/models/rl.gguf" "$TMP/data/models/mine.gguf"
expect_exit models_datadir 0 env TERMLOOM_DATADIR="$TMP/data" "$T" gen --model mine --prompt "ROMEO:" -n 2 --depth 1 --seed 3 -o "$TMP/mine.json"
check models_datadir_records_name test "$(model_nodes mine "$TMP/mine.json")" = 2

# What cannot be run: one line naming the problem, exit 1, no file written.
expect_exit models_unknown_name 1 "$T" gen --model nope --prompt x -o "$TMP/x.json"
one_line_error models_unknown_name_msg "model 'nope' not found.*base, tuned and rl"
for i in 1 2 3 4 5 6 7 8; do echo 'this is a text file, not a model at all'; done > "$TMP/bad.gguf"
expect_exit models_bad_file 1 "$T" gen --model "$TMP/bad.gguf" --prompt x -o "$TMP/x.json"
one_line_error models_bad_file_msg "bad.gguf: not a GGUF file"
expect_exit models_missing_file 1 "$T" gen --model "$TMP/gone.gguf" --prompt x -o "$TMP/x.json"
one_line_error models_missing_file_msg "gone.gguf: No such file"
# Another architecture (the same file with every "llama" key renamed): refused by name.
LC_ALL=C sed 's/llama/mamba/g' "$ROOT/models/base.gguf" > "$TMP/mamba.gguf"
expect_exit models_other_arch 1 "$T" gen --model "$TMP/mamba.gguf" --prompt x -o "$TMP/x.json"
one_line_error models_other_arch_msg "mamba.gguf: architecture 'mamba' is not supported"
head -c 100000 "$ROOT/models/base.gguf" > "$TMP/cut.gguf"
expect_exit models_truncated 1 "$T" gen --model "$TMP/cut.gguf" --prompt x -o "$TMP/x.json"
one_line_error models_truncated_msg "cut.gguf: "
mkfifo "$TMP/fifo.gguf"
expect_exit models_fifo 1 timeout 10 "$T" gen --model "$TMP/fifo.gguf" --prompt x -o "$TMP/x.json"
one_line_error models_fifo_msg "fifo.gguf: not a regular file"
check models_no_file_on_error test ! -e "$TMP/x.json"
# --corpus belongs to the n-gram model.
expect_exit models_corpus_needs_ngram 1 "$T" gen --corpus "$ROOT/doc/corpus.txt" --prompt x -o "$TMP/x.json"
one_line_error models_corpus_needs_ngram_msg "is for [-]-backend ngram"
expect_exit models_ngram_backend 0 "$T" gen --backend ngram --prompt "The loom" -n 2 --depth 1 --seed 3 -o "$TMP/ng.json"
check models_ngram_records_ngram grep -Eq '"backend": ?"ngram"' "$TMP/ng.json"

# The seed's experiment, offline: base against its tuned copy, no server.
expect_exit models_compare_base_tuned 0 "$T" compare --a model=base --b model=tuned --prompt "ROMEO:" -n 16 --seed 1
check models_compare_config grep -Eq 'config +backend=builtin model=base +backend=builtin model=tuned' "$TMP/out"
check models_compare_samples grep -Eq '^samples +16 +16' "$TMP/out"
check models_compare_exact grep -q 'bits/token (exact)' "$TMP/out"
# The tuned copy is the collapsed one: lower token entropy than the base.
ta=$(awk '$1 == "token" { print $3; exit }' "$TMP/out"); tb=$(awk '$1 == "token" { print $6; exit }' "$TMP/out")
check models_compare_tuned_lower_entropy awk -v a="${ta:-0}" -v b="${tb:-99}" 'BEGIN { exit !(b < a) }'
