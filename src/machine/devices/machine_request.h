// What a device (or the user at the console) can ask of the whole machine: to power off, to
// reset, or to quit. The board stops the
// engine when one is set; the `vireo boot` command decides what a reset means (boot again,
// or end with --no-reboot).
#pragma once

namespace vireo::machine {

enum class MachineRequest { None, PowerOff, Reset, Quit };  // Quit: the user typed Ctrl-A x

}  // namespace vireo::machine
