/*
 * The hypervisor monitor and the keyboard: every byte typed on the host
 * console goes to the guest that has the console focus (guest 0 at
 * first), except the escape Ctrl-] (0x1d), which opens the monitor prompt
 * `discv>`. Commands: vms, console K, stats, trace K, stop K, reboot K,
 * help; an empty line returns to the guest. docs/monitor.md shows them.
 * The boot hart polls the keyboard (at least every 20 ms).
 */
#ifndef DISCV_MONITOR_H
#define DISCV_MONITOR_H

#define MONITOR_ESCAPE 0x1d	/* Ctrl-] */

/* Takes the keyboard: registers as the host console's input handler. */
void monitor_init(void);

/* Runs one monitor command line (also used by the unit tests' callers). */
void monitor_command(const char *line);

#endif
