/* IPC: a memfd mapped twice (and sealed), System V shared memory and a semaphore shared with a
 * forked child, a System V message queue with typed messages, and a POSIX message queue with
 * priorities; code replaced by a System V segment attached over it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "api_test.h"

union semun { int val; struct semid_ds* buf; unsigned short* array; };

static void memfd(void) {
  int fd = (int)OK(syscall(SYS_memfd_create, "vireo-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  OK(ftruncate(fd, 8192));
  char* a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char* b = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  if (a == MAP_FAILED || b == MAP_FAILED) {
    printf("memfd mmap failed\n");
    check_failures++;
    return;
  }
  strcpy(a + 4096, "written through the first mapping");
  printf("memfd: second mapping reads '%s', distinct mappings %d\n", b + 4096, a != b);
  char buf[8] = {0};
  OK(pread(fd, buf, 7, 4096));
  printf("memfd: read() sees '%s'\n", buf);
  OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
  FAILS_WITH(ftruncate(fd, 100), EPERM);
  printf("memfd: seals %#x\n", (unsigned)fcntl(fd, F_GET_SEALS));
  char name[64] = {0}, link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  OK(readlink(link, name, sizeof name - 1));
  printf("memfd: named '%s'\n", name);
  munmap(a, 8192);
  munmap(b, 8192);
  close(fd);
}

static void sysv_shm_sem(void) {
  int shm = (int)OK(shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600));
  int sem = (int)OK(semget(IPC_PRIVATE, 2, IPC_CREAT | 0600));
  unsigned short init[2] = {0, 5};
  OK(semctl(sem, 0, SETALL, (union semun){.array = init}));
  char* mem = shmat(shm, NULL, 0);
  if (mem == (char*)-1) {
    printf("shmat failed: %s\n", strerror(errno));
    check_failures++;
    return;
  }
  struct shmid_ds ds;
  OK(shmctl(shm, IPC_STAT, &ds));
  printf("shm: size %zu, attached %lu, page aligned %d\n", ds.shm_segsz, (unsigned long)ds.shm_nattch,
         ((uintptr_t)mem & 4095) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child inherits the attachment: it writes, then posts semaphore 0. */
    strcpy(mem + 9000, "from the child");
    struct sembuf post = {0, 1, 0};
    _exit(semop(sem, &post, 1) == 0 ? 0 : 1);
  }
  struct sembuf wait_op[2] = {{0, -1, 0}, {1, -2, 0}};
  OK(semop(sem, wait_op, 2));
  printf("shm: parent reads '%s' after the semaphore\n", mem + 9000);
  int status;
  OK(waitpid(pid, &status, 0));
  unsigned short now[2];
  OK(semctl(sem, 0, GETALL, (union semun){.array = now}));
  printf("sem: values now %u %u, GETVAL %d, child status %d\n", now[0], now[1], semctl(sem, 1, GETVAL),
         WEXITSTATUS(status));
  struct sembuf nowait = {0, -1, IPC_NOWAIT};
  FAILS_WITH(semop(sem, &nowait, 1), EAGAIN);
  struct timespec t = {0, 1000000};
  FAILS_WITH(semtimedop(sem, &(struct sembuf){0, -1, 0}, 1, &t), EAGAIN);
  /* A second attachment at a chosen address (one known to be free: mapped, then unmapped),
   * read-only; attaching over a mapping without SHM_REMAP is EINVAL. */
  char* spot = mmap(NULL, 65536, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(spot, 65536);
  char* ro = shmat(shm, spot, SHM_RDONLY);
  if (ro != (char*)-1) {
    printf("shm: read-only attachment at the chosen address %d reads '%s'\n", ro == spot, ro + 9000);
    OK(shmdt(ro));
  } else {
    printf("shm: chosen-address attachment failed: %s\n", strerror(errno));
    check_failures++;
  }
  FAILS_WITH((long)shmat(shm, mem, 0), EINVAL);
  char* again = shmat(shm, mem, SHM_REMAP);
  printf("shm: SHM_REMAP over the first attachment %d\n", again == mem);
  OK(shmdt(mem));
  FAILS_WITH(shmdt(mem), EINVAL);
  OK(shmctl(shm, IPC_RMID, NULL));
  OK(semctl(sem, 0, IPC_RMID));
  FAILS_WITH(shmat(shm, NULL, 0), EINVAL);
}

/* Code replaced by a System V segment: a page of code that has run (often enough for the jit to
 * translate it) is covered by shmat(SHM_REMAP | SHM_EXEC) with other code, which must run. */
static int call_page(const unsigned char* page) {
  int (*f)(void) = (int (*)(void))(uintptr_t)page;
  int r = 0;
  for (int i = 0; i < 200; ++i) r = f();
  return r;
}

static void sysv_shm_code(void) {
  static const unsigned char ret1[] = {0xB8, 1, 0, 0, 0, 0xC3}, ret2[] = {0xB8, 2, 0, 0, 0, 0xC3};
  unsigned char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    printf("shm code: mmap failed: %s\n", strerror(errno));
    check_failures++;
    return;
  }
  memcpy(page, ret1, sizeof ret1);
  printf("shm code: the anonymous page returns %d\n", call_page(page));
  int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  unsigned char* seg = shmat(shm, NULL, 0);
  memcpy(seg, ret2, sizeof ret2);
  unsigned char* code = shmat(shm, page, SHM_REMAP | SHM_EXEC);
  if (code == page) printf("shm code: the segment over it returns %d\n", call_page(page));
  else printf("shm code: SHM_REMAP | SHM_EXEC failed: %s\n", strerror(errno));
  OK(shmdt(seg));
  OK(shmdt(code));
  OK(shmctl(shm, IPC_RMID, NULL));
}

static void sysv_msg(void) {
  int q = (int)OK(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
  struct { long type; char text[32]; } m;
  for (int i = 1; i <= 3; i++) {
    m.type = i;
    snprintf(m.text, sizeof m.text, "message of type %d", i);
    OK(msgsnd(q, &m, strlen(m.text) + 1, 0));
  }
  long n = OK(msgrcv(q, &m, sizeof m.text, 2, 0));
  printf("msg: type 2 first: %ld bytes '%s'\n", n, m.text);
  n = OK(msgrcv(q, &m, sizeof m.text, 0, 0));
  printf("msg: then the oldest: type %ld '%s'\n", m.type, m.text);
  struct msqid_ds ds;
  OK(msgctl(q, IPC_STAT, &ds));
  printf("msg: %lu left\n", (unsigned long)ds.msg_qnum);
  FAILS_WITH(msgrcv(q, &m, sizeof m.text, 7, IPC_NOWAIT), ENOMSG);
  FAILS_WITH(msgrcv(q, &m, 4, 3, 0), E2BIG);
  OK(msgctl(q, IPC_RMID, NULL));
}

static void posix_mq(void) {
  char name[64];
  snprintf(name, sizeof name, "/vireo-test-%d", (int)getpid());
  struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (q == (mqd_t)-1) {
    printf("mq_open: %s\n", strerror(errno));
    return;
  }
  OK(mq_send(q, "low", 4, 1));
  OK(mq_send(q, "high", 5, 9));
  OK(mq_send(q, "middle", 7, 5));
  struct mq_attr got;
  OK(mq_getattr(q, &got));
  printf("mq: maxmsg %ld msgsize %ld current %ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
  for (int i = 0; i < 3; i++) {
    char buf[64];
    unsigned prio;
    long n = OK(mq_receive(q, buf, sizeof buf, &prio));
    printf("mq: received '%s' (%ld bytes) priority %u\n", buf, n, prio);
  }
  struct mq_attr nb = {.mq_flags = O_NONBLOCK};
  OK(mq_setattr(q, &nb, NULL));
  char buf[64];
  FAILS_WITH(mq_receive(q, buf, sizeof buf, NULL), EAGAIN);
  FAILS_WITH(mq_receive(q, buf, 8, NULL), EMSGSIZE);
  mq_close(q);
  OK(mq_unlink(name));
  FAILS_WITH(mq_unlink(name), ENOENT);
}

int main(void) {
  time_bound(20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  memfd();
  sysv_shm_sem();
  sysv_shm_code();
  sysv_msg();
  posix_mq();
  return finish("ipc_shared");
}
