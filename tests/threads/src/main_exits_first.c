// The main thread leaves with pthread_exit while another thread goes on: the process lives on
// until that thread ends it with exit(7), which is the status the parent sees.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_t main_thread;

static void* survivor(void* arg) {
  // Joining the main thread waits for it to have exited.
  pthread_join(main_thread, 0);
  printf("survivor: the main thread has exited, the process goes on\n");
  fflush(stdout);
  exit(7);
}

int main(void) {
  main_thread = pthread_self();
  pthread_t t;
  pthread_create(&t, 0, survivor, 0);
  printf("main: leaving with pthread_exit\n");
  fflush(stdout);
  pthread_exit(0);
}
