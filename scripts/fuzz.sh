#!/usr/bin/env bash
# Coverage-guided fuzzing of jwsgi's own parsers with Jazzer: every @FuzzTest, one after another,
# each for the maxDuration its annotation gives. ./test runs the same targets in regression mode
# only (saved inputs). New inputs that found coverage go to .cifuzz-corpus/; a finding is
# printed with its input, saved as crash-*; copy it to <module>/src/test/resources/<package>/<Class>Inputs/<method>/
# to keep it as a regression case.
#   scripts/fuzz.sh [TEST_CLASS#METHOD ...]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$home/scripts/env.sh"
find_jdk
cd "$home"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for class in ParserFuzzTest EnvironFuzzTest StaticFilesFuzzTest; do
        file=$(find jwsgi-*/src/test/java -name "$class.java")
        for method in $(grep -A1 '@FuzzTest' "$file" | sed -n 's/^ *void \([a-zA-Z0-9]*\)(.*/\1/p'); do
            targets+=("$class#$method")
        done
    done
fi
for target in "${targets[@]}"; do
    echo "== $target"
    # -Pfuzz: classes compiled to Java 23 bytecode, which Jazzer 0.24.0 can instrument (see pom.xml).
    JAZZER_FUZZ=1 maven -Pfuzz test -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false 2>&1 \
        | grep -E "^#[0-9]+ *(DONE|INITED)|^Done [0-9]+ runs|== Java Exception|FuzzTestFindingException|Tests run:|ERROR" || true
done
