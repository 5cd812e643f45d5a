// What a device can ask of the whole machine: to power off or to reset. The board stops the
// engine when one is set; the `vireo boot` command decides what a reset means (boot again,
// or end with --no-reboot).
#pragma once

namespace vireo::machine {

enum class MachineRequest { None, PowerOff, Reset };

}  // namespace vireo::machine
