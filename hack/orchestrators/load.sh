# shellcheck shell=bash
# Loads the test bed's functions; run.sh and step.sh source it.
# shellcheck disable=SC2154 # here: set by the script that sources this one
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=setup.sh
. "$here/setup.sh"
# shellcheck source=cli.sh
. "$here/cli.sh"
# shellcheck source=docker.sh
. "$here/docker.sh"
# shellcheck source=podman.sh
. "$here/podman.sh"
# shellcheck source=containerd.sh
. "$here/containerd.sh"
# shellcheck source=cri.sh
. "$here/cri.sh"
