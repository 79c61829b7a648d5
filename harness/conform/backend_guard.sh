#!/bin/sh
# ctest's conform_<command>_<sandbox> runs: runs the rest of the command line
# when instar's <sandbox> backend starts here. When it does not, the run is
# skipped (exit 77, ctest's SKIP_RETURN_CODE) with the reason, unless
# $INSTAR_REQUIRED_SANDBOXES names the backend (ci/test sets it to what this
# machine must run; vmm/testing/required_sandboxes.h), and then it fails.
#
#   backend_guard.sh INSTAR SANDBOX COMMAND...
set -eu
instar=$1
sandbox=$2
shift 2
if ! why=$("$instar" --sandbox="$sandbox" measure --size 1G -O qcow2 2>&1 >/dev/null); then
  case " ${INSTAR_REQUIRED_SANDBOXES:-} " in
    *" $sandbox "*)
      echo "the $sandbox backend is required here (\$INSTAR_REQUIRED_SANDBOXES) but cannot run: $why" >&2
      exit 1
      ;;
  esac
  echo "the $sandbox backend cannot run here: $why"
  exit 77
fi
exec "$@"
