# make -j2 of a small C project: two objects built in parallel, then linked, then run.
set -e
printf 'int square(int x) { return x * x; }\n' > square.c
printf 'int cube(int x) { return x * x * x; }\n' > cube.c
printf '#include <stdio.h>\nint square(int); int cube(int);\nint main(void) { printf("%%d %%d\\n", square(7), cube(3)); return 0; }\n' > main.c
printf 'prog: main.o square.o cube.o\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O1 -c $< -o $@\n' > Makefile
make -j2 -s
./prog
make -s   # nothing to do
