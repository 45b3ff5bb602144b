/* Sanitizer and Valgrind hooks, empty when those tools are absent. */
#ifndef TARDY_SANITIZE_H
#define TARDY_SANITIZE_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TARDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TARDY_ASAN 1
#endif
#endif

#ifdef TARDY_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define TARDY_ASAN_START(fake_save, bottom, size) __sanitizer_start_switch_fiber(fake_save, bottom, size)
#define TARDY_ASAN_FINISH(fake, bottom_old, size_old) __sanitizer_finish_switch_fiber(fake, bottom_old, size_old)
#define TARDY_ASAN_UNPOISON(addr, size) __asan_unpoison_memory_region(addr, size)
#else
#define TARDY_ASAN_START(fake_save, bottom, size) ((void)(fake_save), (void)(bottom), (void)(size))
#define TARDY_ASAN_FINISH(fake, bottom_old, size_old) ((void)(fake), (void)(bottom_old), (void)(size_old))
#define TARDY_ASAN_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

#endif
