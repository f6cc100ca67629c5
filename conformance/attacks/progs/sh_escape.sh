# Shell escapes with builtins only (under -p1 the shell cannot fork):
# climb with cd .., read host files through every route, write outside.
# $1: marker name; the rest: host paths of secret files.
m=$1
shift
cd /box || exit 1
i=0
while [ $i -lt 30 ]; do cd ..; i=$((i + 1)); done
echo "TRY cd .. 30 times: ok ($PWD)"
echo "LIST /:" /*
echo "LIST /proc/1/root:" /proc/1/root/*
for p in "$@"; do
	for via in "" /proc/1/root /proc/self/root/../.. /box/../../.. /proc/self/cwd/../..; do
		if read -r line 2>/dev/null < "$via$p"; then
			echo "TRY read $via$p: ok"
			echo "READ $via$p: $line"
		else
			echo "TRY read $via$p: failed"
		fi
	done
done
for d in / /bin /usr /lib /proc /dev /box/.. /tmp/..; do
	if { echo pwned > "$d/$m"; } 2>/dev/null; then
		echo "TRY write $d/$m: ok"
		echo "ESCAPE: wrote $d/$m"
	else
		echo "TRY write $d/$m: failed"
	fi
done
if { echo atk-pwned > /proc/sys/kernel/hostname; } 2>/dev/null; then echo "ESCAPE: wrote the hostname"; fi
echo "TRY write /proc/sys/kernel/hostname: done"
echo DONE
