# shellcheck shell=bash
# The one library behind `make`, .ci/run and .ci/test-suite: the venvs (one per ansible-core line
# under test, plus the demo's), the work dir, interpreter discovery and venv building.
#
#   source .ci/lib.sh                      # .ci/run and .ci/test-suite
#   bash .ci/lib.sh COMMAND [ARGS]         # the Makefile: venv [NAME...] | demo | bench [ARGS] | where | clean
#
# Environment, all optional:
#   KAPACITOR_WORK        work dir; default one per checkout: ${TMPDIR:-/tmp}/tickstack-kapacitor-<hash of its path>
#   VENV VENV218 VENV221 VENVDEMO   a venv dir instead of the one under the work dir (name: the dir, upper case,
#                         without '-' and '.')
#   PYTHON311 PYTHON312   an interpreter instead of the one found; set but empty: there is none

NS=tickstack
NAME=kapacitor
SKIP=77   # a step or ensure_venv returns this to say "skipped"

# The venvs, declared once.  Those named after an ansible-core line are the lines under test:
# .ci/test-suite makes venv-, sanity-, units- and functional-<line> steps from them, in this order.
# The first is the tool line: its venv also holds ansible-lint, molecule, ruff and the other tools.
#       name  python  requirements               dir under the work dir
VENVS=('2.19  3.11    .ci/requirements.txt       venv'
       '2.18  3.11    .ci/requirements-2.18.txt  venv-2.18'
       '2.21  3.12    .ci/requirements-2.21.txt  venv-2.21'
       'demo  3.11    .ci/requirements-demo.txt  venv-demo')   # make demo: ansible-core and urllib3 only
TOOL_LINE=${VENVS[0]%% *}

CI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# One work dir per checkout, so that two clones never share a venv or a collection link.
KAPACITOR_WORK=${KAPACITOR_WORK:-${TMPDIR:-/tmp}/$NS-$NAME-$(printf '%s' "$CI_ROOT" | sha256sum | cut -c 1-8)}
CI_SUMMARY="$KAPACITOR_WORK/ci-summary.txt"
PIP_NOISE="^WARNING: Location '.*' is ignored|^Looking in (indexes|links):"

# summary_line PASSED FAILED [SKIPPED]: the line every CI run ends with.
summary_line() {
    local line="ci: $1 passed, $2 failed"
    [ "${3:-0}" -gt 0 ] && line="$line, $3 skipped"
    echo "$line"
}

core_lines() {   # the ansible-core lines under test, tool line first
    local row name
    for row in "${VENVS[@]}"; do
        read -r name _ <<<"$row"
        case $name in [0-9]*) echo "$name" ;; esac
    done
}

# venv_row NAME: sets ROW_PY, ROW_REQ (path in the checkout), ROW_DIR, and ROW_GIVEN (the variable
# naming the venv, when one does: such a venv is used as it is, never rebuilt).
venv_row() {
    local row name dir
    for row in "${VENVS[@]}"; do
        read -r name ROW_PY ROW_REQ dir <<<"$row"
        [ "$name" = "$1" ] || continue
        ROW_GIVEN=${dir^^}; ROW_GIVEN=${ROW_GIVEN//[-.]/}
        [ -n "${!ROW_GIVEN:-}" ] || ROW_GIVEN=
        ROW_DIR=${ROW_GIVEN:+${!ROW_GIVEN}}
        ROW_DIR=${ROW_DIR:-$KAPACITOR_WORK/$dir}
        return 0
    done
    echo "unknown venv '$1' (known: ${VENVS[*]%% *})" >&2
    return 1
}

venv_dir() { venv_row "$1" && echo "$ROW_DIR"; }

# find_python X.Y: print the first interpreter X.Y that really runs and can make a venv (pyenv shims
# of a non-global version exist but fail, so every candidate is executed, not just looked up).
find_python() {
    local want=$1 cand root
    local -a cands=()
    for root in "${PYENV_ROOT:-}" "${HOME:-/root}/.pyenv" /root/.pyenv; do
        [ -n "$root" ] || continue
        for cand in "$root"/versions/"$want".*/bin/python"$want"; do
            [ -x "$cand" ] && cands+=("$cand")
        done
    done
    for cand in "python$want" python3; do
        cand=$(command -v "$cand" 2>/dev/null) && cands+=("$cand")
    done
    cands+=("/usr/local/bin/python$want" "/usr/bin/python$want")
    for cand in "${cands[@]}"; do
        [ -x "$cand" ] || continue
        if "$cand" -c "import sys, venv, ensurepip; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}

# python_for X.Y: $PYTHONXY when it is set (empty: none), else what find_python finds.
python_for() {
    local var=PYTHON${1//./}
    if [ -n "${!var+set}" ]; then
        [ -n "${!var}" ] && echo "${!var}"
        return
    fi
    find_python "$1"
}

# ensure_venv NAME: build the venv NAME unless it is up to date, i.e. holds a copy of its requirements
# file equal to the checkout's (copied last, so an interrupted build is redone).  A venv named by a
# variable is only checked, never rebuilt: it may be shared.  Returns $SKIP when its Python is not installed.
ensure_venv() {
    local py req start rc
    venv_row "$1" || return 1
    req="$CI_ROOT/$ROW_REQ"
    if [ -x "$ROW_DIR/bin/python" ] && cmp -s "$req" "$ROW_DIR/requirements.txt"; then
        return 0
    fi
    if [ -n "$ROW_GIVEN" ]; then
        if [ -x "$ROW_DIR/bin/python" ]; then
            echo "note: $ROW_GIVEN=$ROW_DIR was not built from $ROW_REQ; used as it is"
            return 0
        fi
        echo "$ROW_GIVEN=$ROW_DIR is not a venv (no bin/python); unset $ROW_GIVEN to build one in the work dir"
        return 1
    fi
    if ! py=$(python_for "$ROW_PY"); then
        echo "SKIP: no working Python $ROW_PY (looked in pyenv versions/$ROW_PY.*, python$ROW_PY and python3 on PATH," \
            "/usr/local/bin, /usr/bin); venv $ROW_DIR not built"
        return $SKIP
    fi
    echo "building venv $ROW_DIR with $py from $ROW_REQ"
    start=$SECONDS
    rm -rf "$ROW_DIR" && mkdir -p "$(dirname "$ROW_DIR")" && "$py" -m venv "$ROW_DIR" || return 1
    "$ROW_DIR/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" 2>&1 \
        | { grep -Ev "$PIP_NOISE" || true; }
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo "pip install into $ROW_DIR failed (exit $rc)"
        return 1
    fi
    cp "$req" "$ROW_DIR/requirements.txt"
    echo "venv $ROW_DIR built in $((SECONDS - start))s"
}

# ansible-test downloads get-pip-<ver>.py from a host we cannot reach; it uses a cached
# ~/.ansible/test/cache/get_pip_<ver>.py first.  Install our stand-in for the version that the
# ansible-test of venv DIR asks for.
install_get_pip_shim() {
    local file ver dest
    file=$("$1/bin/python" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))') || return 1
    ver=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$file" | head -n 1)
    if [ -z "$ver" ]; then
        echo "cannot read the pip version from $file" >&2
        return 1
    fi
    dest="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
    mkdir -p "$(dirname "$dest")"
    cmp -s "$CI_ROOT/.ci/get_pip_shim.py" "$dest" || cp "$CI_ROOT/.ci/get_pip_shim.py" "$dest"
}

# with_checkout VENV_NAME COMMAND...: run COMMAND in the checkout, with tickstack.kapacitor resolving to
# the checkout itself (ansible-playbook follows a symlinked collection; only ansible-test needs a copy).
with_checkout() {
    local venv link="$KAPACITOR_WORK/link"
    ensure_venv "$1" || return 1
    venv=$ROW_DIR
    shift
    mkdir -p "$link/ansible_collections/$NS" "$KAPACITOR_WORK/ansible-home"
    ln -sfn "$CI_ROOT" "$link/ansible_collections/$NS/$NAME"
    cd "$CI_ROOT" && KAPACITOR_PY="$venv/bin/python" ANSIBLE_COLLECTIONS_PATH="$link" \
        ANSIBLE_HOME="$KAPACITOR_WORK/ansible-home" ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" \
        PATH="$venv/bin:$PATH" "$@"
}

# ---------------------------------------------------------------------------------------------
# Commands for the Makefile.

cmd_venv() {   # venv [NAME...]: the named venvs, or the tool line's
    local name rc=0
    [ $# -gt 0 ] || set -- "$TOOL_LINE"
    for name in "$@"; do
        venv_row "$name" || { rc=1; continue; }
        ensure_venv "$name" || { [ $? -eq $SKIP ] && [ "$name" != "$TOOL_LINE" ] || rc=1; }
        [ -x "$ROW_DIR/bin/python" ] && echo "venv $name: $ROW_DIR"
    done
    return $rc
}

cmd_demo() { with_checkout demo bash tests/demo/demo.sh; }

cmd_bench() { with_checkout "$TOOL_LINE" python tests/benchmark/bench.py "$@"; }

cmd_where() {   # the real paths behind the make targets
    local row name py req dir found
    echo "work dir: $KAPACITOR_WORK (set KAPACITOR_WORK to move it)"
    echo "  logs in logs/, the tested copy in ansible_collections/$NS/$NAME/, the summary in ci-summary.txt"
    echo "tool line: ansible-core $TOOL_LINE (sanity, units and functional without a line; lint, molecule, bench)"
    echo "venvs (set VENV, VENV218, ... to use others):"
    printf '  %-5s %-44s %-28s %s\n' line venv requirements python
    for row in "${VENVS[@]}"; do
        read -r name py req dir <<<"$row"
        venv_row "$name"
        found=$(python_for "$py") || found="no Python $py found: its steps are skipped"
        printf '  %-5s %-44s %-28s %s\n' "$name" "$ROW_DIR" "$req" "$found"
    done
}

cmd_clean() {
    rm -rf "$KAPACITOR_WORK" "$CI_ROOT/tests/output" "$CI_ROOT/changelogs/.plugin-cache.yaml"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u -o pipefail
    case ${1:-} in
        venv | demo | bench | where | clean) cmd=cmd_$1; shift; "$cmd" "$@" ;;
        *) echo "usage: bash .ci/lib.sh venv [NAME...] | demo | bench [ARGS] | where | clean" >&2; exit 2 ;;
    esac
fi
