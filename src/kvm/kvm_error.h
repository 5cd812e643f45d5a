// Errors from the kvm engine. KvmUnavailable is the "no /dev/kvm or no permission" case the
// CLI reports in one line; KvmError is anything that stops the guest (triple fault, entry
// failure, internal error), with a message that already names the cause.
#pragma once

#include <stdexcept>
#include <string>

namespace vireo::kvm {

class KvmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KvmUnavailable : public KvmError {
 public:
  using KvmError::KvmError;
};

}  // namespace vireo::kvm
