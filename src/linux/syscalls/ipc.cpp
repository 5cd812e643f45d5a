// Inter-process communication: memfd_create, System V shared memory, semaphores and message
// queues, and POSIX message queues.
//
// The objects are host objects (ids and fds are the host's; the guest's ipc structures have the
// host layout), so most calls pass through with guest buffers as host pointers. The exception is
// shmat: the host kernel would place the segment anywhere in Vireo's address space, but the guest
// must find it inside its window. So the range is reserved in the guest address space first
// (an inaccessible anonymous mapping, at the guest's address or where mmap(NULL) would put it),
// the segment is attached over that reservation with SHM_REMAP, and the protection is recorded
// with the address space. shmdt detaches and unmaps the range, which returns it to the window's
// reservation. The attachments (guest address -> size) are kept here, because shmdt takes only
// the address.
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include <map>
#include <mutex>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"
#include "support/fork_safe_mutex.h"

namespace vireo {

namespace {

constexpr uint64_t kPage = 4096;  // also SHMLBA on x86-64
// The "64-bit structures" flag libcs add to ctl commands (linux/ipc.h); the layout is the same.
constexpr int IPC_64 = 0x100;

// ---- memfd ----

int64_t sys_memfd_create(Process& p, const SyscallArgs& a) {
  std::string name;
  // memfd_create(2): the name is at most 249 bytes (NAME_MAX minus "memfd:").
  if (!read_guest_string(p, a.a[0], name, 250)) return name.size() >= 250 ? -EINVAL : -EFAULT;
  return host_call(SYS_memfd_create, hp(name.c_str()), a.a[1]);
}

// ---- System V shared memory ----

// Guest threads share the attachments; a guest fork must find the lock free in the child.
ForkSafeMutex attach_mutex;
std::map<uint64_t, uint64_t> attachments;  // guest address -> attached length (page multiple)

int64_t sys_shmget(Process&, const SyscallArgs& a) {
  return host_call(SYS_shmget, a.a[0], a.a[1], a.a[2]);
}

int64_t sys_shmat(Process& p, const SyscallArgs& a) {
  int id = int(a.a[0]);
  uint64_t addr = a.a[1];
  int flags = int(a.a[2]);
  struct shmid_ds ds;
  if (int64_t r = host_call(SYS_shmctl, id, IPC_STAT, hp(&ds)); r < 0) return r;
  uint64_t len = (ds.shm_segsz + kPage - 1) & ~(kPage - 1);
  if (addr) {
    if (flags & SHM_RND) addr &= ~(kPage - 1);
    if (addr & (kPage - 1)) return -EINVAL;
  }
  // At a chosen address, a range already mapped is EINVAL unless SHM_REMAP asks to replace it
  // (shmat(2)).
  if (addr && !(flags & SHM_REMAP) &&
      (!p.as().contains(addr, len) || p.as().prot_at(addr) != -1 || p.as().run_end(addr) < addr + len))
    return -EINVAL;
  // Reserve the range in the guest window.
  int64_t at = p.as().mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0), -1, 0);
  if (at < 0) return at;
  int host_flags = (flags & (SHM_RDONLY | SHM_EXEC)) | SHM_REMAP;
  if (::shmat(id, p.as().host(uint64_t(at)), host_flags) == reinterpret_cast<void*>(-1)) {
    int err = errno;
    p.as().munmap(uint64_t(at), len);
    return -err;
  }
  int prot = PROT_READ | ((flags & SHM_RDONLY) ? 0 : PROT_WRITE) | ((flags & SHM_EXEC) ? PROT_EXEC : 0);
  p.as().mprotect(uint64_t(at), len, prot);
  // SHM_REMAP may replace code the engine has translated (as a MAP_FIXED mmap may).
  if (addr) p.engine().invalidate(uint64_t(at), len);
  p.engine().mapped(uint64_t(at), len);
  std::lock_guard lock(attach_mutex);
  attachments[uint64_t(at)] = len;
  return at;
}

int64_t sys_shmdt(Process& p, const SyscallArgs& a) {
  uint64_t len;
  {
    std::lock_guard lock(attach_mutex);
    auto it = attachments.find(a.a[0]);
    if (it == attachments.end()) return -EINVAL;  // shmdt(2): no segment attached there
    len = it->second;
    attachments.erase(it);
  }
  ::shmdt(p.as().host(a.a[0]));
  p.as().munmap(a.a[0], len);
  p.engine().invalidate(a.a[0], len);  // (code run from the segment, as munmap drops it)
  return 0;
}

// shmctl/msgctl/semctl buffers: the largest structure a command of that family reads or fills
// (IPC_STAT/IPC_SET/..._STAT_ANY the *id_ds, IPC_INFO/..._INFO the *info ones).
int64_t sys_shmctl(Process& p, const SyscallArgs& a) {
  int cmd = int(a.a[1]) & ~IPC_64;
  if (cmd == IPC_RMID || cmd == SHM_LOCK || cmd == SHM_UNLOCK)
    return host_call(SYS_shmctl, a.a[0], a.a[1], 0);
  size_t size = std::max(sizeof(struct shmid_ds), sizeof(struct shminfo));
  return host_call(SYS_shmctl, a.a[0], a.a[1], hp(host_arg(p, a.a[2], size)));
}

// ---- System V message queues ----

int64_t sys_msgget(Process&, const SyscallArgs& a) { return host_call(SYS_msgget, a.a[0], a.a[1]); }
int64_t sys_msgsnd(Process& p, const SyscallArgs& a) {
  // struct msgbuf: long mtype, then msgsz bytes of text.
  return blocking_call(SYS_msgsnd, a.a[0], hp(host_arg(p, a.a[1], a.a[2] + 8)), a.a[2], a.a[3]);
}
int64_t sys_msgrcv(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_msgrcv, a.a[0], hp(host_arg(p, a.a[1], a.a[2] + 8)), a.a[2], a.a[3], a.a[4]);
}
int64_t sys_msgctl(Process& p, const SyscallArgs& a) {
  int cmd = int(a.a[1]) & ~IPC_64;
  if (cmd == IPC_RMID) return host_call(SYS_msgctl, a.a[0], a.a[1], 0);
  size_t size = std::max(sizeof(struct msqid_ds), sizeof(struct msginfo));
  return host_call(SYS_msgctl, a.a[0], a.a[1], hp(host_arg(p, a.a[2], size)));
}

// ---- System V semaphores ----

int64_t sys_semget(Process&, const SyscallArgs& a) {
  return host_call(SYS_semget, a.a[0], a.a[1], a.a[2]);
}
int64_t sys_semtimedop(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_semtimedop, a.a[0], hp(host_arg(p, a.a[1], a.a[2] * sizeof(struct sembuf))),
                       a.a[2], hp(host_opt(p, a.a[3], 16)));
}
int64_t sys_semop(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_semtimedop, a.a[0], hp(host_arg(p, a.a[1], a.a[2] * sizeof(struct sembuf))),
                       a.a[2], 0);
}

// semctl(id, num, cmd, union semun arg): the fourth argument is a value (SETVAL), a pointer to a
// structure (the STAT, SET and INFO commands) or to the array of all values (GETALL, SETALL:
// one unsigned short per semaphore of the set), or unused.
int64_t sys_semctl(Process& p, const SyscallArgs& a) {
  int cmd = int(a.a[2]) & ~IPC_64;
  switch (cmd) {
    case IPC_STAT: case IPC_SET: case SEM_STAT: case SEM_STAT_ANY: case IPC_INFO: case SEM_INFO: {
      size_t size = std::max(sizeof(struct semid_ds), sizeof(struct seminfo));
      return host_call(SYS_semctl, a.a[0], a.a[1], a.a[2], hp(host_arg(p, a.a[3], size)));
    }
    case GETALL: case SETALL: {
      struct semid_ds ds;
      if (int64_t r = host_call(SYS_semctl, a.a[0], 0, IPC_STAT, hp(&ds)); r < 0) return r;
      return host_call(SYS_semctl, a.a[0], a.a[1], a.a[2], hp(host_arg(p, a.a[3], ds.sem_nsems * 2)));
    }
    default:  // SETVAL's value, or nothing
      return host_call(SYS_semctl, a.a[0], a.a[1], a.a[2], a.a[3]);
  }
}

// ---- POSIX message queues ----
// The queue name is a name in the mqueue filesystem, not a path: no sysroot applies to it.

int64_t sys_mq_open(Process& p, const SyscallArgs& a) {
  std::string name;
  if (int r = read_guest_path(p, a.a[0], name)) return r;
  return host_call(SYS_mq_open, hp(name.c_str()), a.a[1], a.a[2], hp(host_opt(p, a.a[3], sizeof(struct mq_attr))));
}
int64_t sys_mq_unlink(Process& p, const SyscallArgs& a) {
  std::string name;
  if (int r = read_guest_path(p, a.a[0], name)) return r;
  return host_call(SYS_mq_unlink, hp(name.c_str()));
}
int64_t sys_mq_timedsend(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_mq_timedsend, a.a[0], hp(host_arg(p, a.a[1], a.a[2])), a.a[2], a.a[3],
                       hp(host_opt(p, a.a[4], 16)));
}
int64_t sys_mq_timedreceive(Process& p, const SyscallArgs& a) {
  return blocking_call(SYS_mq_timedreceive, a.a[0], hp(host_arg(p, a.a[1], a.a[2])), a.a[2],
                       hp(host_opt(p, a.a[3], 4)), hp(host_opt(p, a.a[4], 16)));
}
// mq_notify's struct sigevent: SIGEV_SIGNAL and SIGEV_NONE work as for timer_create; glibc's
// SIGEV_THREAD is built on a netlink socket (sigev_value points into the guest and is only
// handed back), so the sigevent is copied in unchanged.
int64_t sys_mq_notify(Process& p, const SyscallArgs& a) {
  uint8_t ev[64];
  const void* evp = nullptr;
  if (a.a[1]) {
    if (!copy_from_guest(p, ev, a.a[1], sizeof ev)) return -EFAULT;
    evp = ev;
  }
  return host_call(SYS_mq_notify, a.a[0], hp(evp));
}
int64_t sys_mq_getsetattr(Process& p, const SyscallArgs& a) {
  return host_call(SYS_mq_getsetattr, a.a[0], hp(host_opt(p, a.a[1], sizeof(struct mq_attr))),
                   hp(host_opt(p, a.a[2], sizeof(struct mq_attr))));
}

}  // namespace

void register_ipc_syscalls(SyscallTable& t) {
  t[SYS_memfd_create] = {"memfd_create", sys_memfd_create, {Arg::Str, Arg::Hex}};
  t[SYS_shmget] = {"shmget", sys_shmget, {Arg::Int, Arg::Uint, Arg::Oct}};
  t[SYS_shmat] = {"shmat", sys_shmat, {Arg::Int, Arg::Ptr, Arg::Hex}, Arg::Hex};
  t[SYS_shmdt] = {"shmdt", sys_shmdt, {Arg::Ptr}};
  t[SYS_shmctl] = {"shmctl", sys_shmctl, {Arg::Int, Arg::Int, Arg::Ptr}};
  t[SYS_msgget] = {"msgget", sys_msgget, {Arg::Int, Arg::Oct}};
  t[SYS_msgsnd] = {"msgsnd", sys_msgsnd, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_msgrcv] = {"msgrcv", sys_msgrcv, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Long, Arg::Hex}};
  t[SYS_msgctl] = {"msgctl", sys_msgctl, {Arg::Int, Arg::Int, Arg::Ptr}};
  t[SYS_semget] = {"semget", sys_semget, {Arg::Int, Arg::Int, Arg::Oct}};
  t[SYS_semop] = {"semop", sys_semop, {Arg::Int, Arg::Ptr, Arg::Uint}};
  t[SYS_semtimedop] = {"semtimedop", sys_semtimedop, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Ptr}};
  t[SYS_semctl] = {"semctl", sys_semctl, {Arg::Int, Arg::Int, Arg::Int, Arg::Hex}};
  t[SYS_mq_open] = {"mq_open", sys_mq_open, {Arg::Str, Arg::Hex, Arg::Oct, Arg::Ptr}};
  t[SYS_mq_unlink] = {"mq_unlink", sys_mq_unlink, {Arg::Str}};
  t[SYS_mq_timedsend] = {"mq_timedsend", sys_mq_timedsend, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Uint, Arg::Ptr}};
  t[SYS_mq_timedreceive] = {"mq_timedreceive", sys_mq_timedreceive, {Arg::Fd, Arg::Ptr, Arg::Uint, Arg::Ptr, Arg::Ptr}};
  t[SYS_mq_notify] = {"mq_notify", sys_mq_notify, {Arg::Fd, Arg::Ptr}};
  t[SYS_mq_getsetattr] = {"mq_getsetattr", sys_mq_getsetattr, {Arg::Fd, Arg::Ptr, Arg::Ptr}};
}

}  // namespace vireo
