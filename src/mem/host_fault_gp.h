// A host #GP under a guest fault scope (mem/host_fault.h). Outside guest accesses a #GP is
// Vireo's own bug (an internal error); but translated code runs some guest instructions as
// themselves (SSE forms: a misaligned m128), and the host-quirk probes fault on purpose: a
// #GP there is unwound to the scope like a page fault (guest_addr 0, error_code the #GP's).
// Apart from host_fault.h so that adding it did not touch the header most of Vireo includes.
#pragma once

#include "mem/host_fault.h"

namespace vireo {

// Makes `scope` this thread's one scope that takes a host #GP, when it is the innermost active
// one (nullptr: none); returns the previous, for the caller to put back.
GuestFaultScope* set_gp_scope(GuestFaultScope* scope);

// Whether the last fault unwound to this thread's gp scope was a #GP; reading clears it.
bool take_host_gp();

}  // namespace vireo
