# Flags for code that runs inside the sandbox: no C library, no exceptions,
# no RTTI, no unwinding tables, no stack protector (there is no TLS to hold a
# canary), general-purpose registers only (the KVM guest never enables SSE)
# and no red zone (the guest takes no interrupts, but the x86-64 kernel-mode
# convention costs nothing and keeps the image safe if it ever does).
set(INSTAR_FREESTANDING_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
  -fno-unwind-tables -fno-stack-protector -fno-pic -fno-pie -mno-red-zone
  -mgeneral-regs-only -fno-threadsafe-statics -fno-use-cxa-atexit
  -ffunction-sections -fdata-sections -fno-sanitize=all -O2)

# instar_freestanding_objects(NAME SOURCES...): an object library of SOURCES
# built with the flags above, seeing the engine and guest public headers.
# Every target of sandbox code carries the INSTAR_FREESTANDING property, which
# keeps the host-only options (sanitizers) away from it.
function(instar_freestanding_objects name)
  add_library(${name} OBJECT ${ARGN})
  target_compile_options(${name} PRIVATE ${INSTAR_FREESTANDING_FLAGS})
  target_include_directories(${name} PRIVATE
    ${INSTAR_SOURCE_ROOT}/engine/include ${INSTAR_SOURCE_ROOT}/guest/include)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF INSTAR_FREESTANDING ON)
endfunction()
