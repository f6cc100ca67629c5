"""Hunts for the host's secrets from Python: walks the whole sandbox
through every root /proc offers, and calls the mount and namespace
syscalls through ctypes. argv: host paths of secret files."""
import ctypes
import os
import sys


def out(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


libc = ctypes.CDLL(None, use_errno=True)


def call(label, fn, *args):
    rc = fn(*args)
    if rc < 0:
        e = ctypes.get_errno()
        out("TRY %s: %s" % (label, os.strerror(e)))
    else:
        out("TRY %s: ok (%d)" % (label, rc))
    return rc


def read(path):
    try:
        with open(path, "rb") as f:
            data = f.read(300)
        out("TRY read %s: ok" % path)
        out("READ %s: %r" % (path, data))
    except OSError as e:
        out("TRY read %s: %s" % (path, e.strerror))


secrets = sys.argv[1:]
for root in ["", "/proc/self/root", "/proc/1/root", "/proc/self/cwd/../..", "/proc/1/cwd"]:
    for s in secrets:
        read(root + s)

# Walk everything but the big host trees, looking for anything that smells.
seen = 0
for top in ["/", "/proc/1/root", "/tmp", "/dev", "/box"]:
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in ("/usr", "/lib", "/bin", "/proc", "/lib64", "/sys")]
        for name in filenames:
            seen += 1
            if "secret" in name or "mini-isolate" in name or "shadow" in name:
                read(os.path.join(dirpath, name))
        if seen > 20000:
            break
out("TRY walk the sandbox: ok (%d files)" % seen)

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
if call("unshare(NEWUSER|NEWNS)", libc.unshare, CLONE_NEWUSER | CLONE_NEWNS) >= 0:
    out("ESCAPE: unshare worked")
if call("mount tmpfs /box", libc.mount, b"tmpfs", b"/box", b"tmpfs", 0, None) >= 0:
    out("ESCAPE: mount worked")
if call("chroot /box", libc.chroot, b"/box") >= 0:
    out("ESCAPE: chroot worked")
try:
    fd = os.open("/proc/1/ns/mnt", os.O_RDONLY)
    if call("setns(init's mount ns)", libc.setns, fd, 0) >= 0:
        out("ESCAPE: setns worked")
except OSError as e:
    out("TRY open /proc/1/ns/mnt: %s" % e.strerror)
SYS_pivot_root = 155
if call("pivot_root", libc.syscall, SYS_pivot_root, b"/box", b"/box") >= 0:
    out("ESCAPE: pivot_root worked")
out("DONE")
