/*
 * What main.c (the disk's tests, reporting, power-off) shares with net.c
 * (the network's tests).
 */
#ifndef VIRTIO_TEST_H
#define VIRTIO_TEST_H

typedef unsigned long ulong;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define mb()	asm volatile("fence rw,rw" ::: "memory")

/* PASS if ok; else "FAIL name: " followed by the got/expected text. */
void check(const char *name, int ok, const char *fmt, ...);
long sbi_call(ulong eid, ulong fid, ulong arg0, ulong arg1);
void *memset(void *d, int c, ulong n);
void *memcpy(void *d, const void *s, ulong n);
ulong now(void);

/* The network scenario (net.c): guest0 sends good and malformed frames
 * and makes bad remap calls, guest1 receives; ram_end is the RAM's end. */
void net_scenario(int sender, ulong ram_end);

/* The balloon scenario (balloon.c): good and bad inflates and deflates. */
void balloon_scenario(ulong ram_end);

#endif
