# gcc entirely under Vireo: the driver runs cc1, as, collect2 and ld, each execve'd under Vireo;
# the program it links then runs under Vireo too. The binary left behind is compared as well.
set -e
printf '#include <stdio.h>\nint main(void) { printf("hello, %%d\\n", 6 * 7); return 0; }\n' > hello.c
gcc -O2 hello.c -o hello
./hello
