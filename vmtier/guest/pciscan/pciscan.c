/* pciscan: the nested test guest. A bare multiboot program instead of Linux + busybox, because booting Linux under
 * nested TCG takes minutes; this prints within a second of the firmware handing over. On COM1 it prints the lines
 * the Linux guest's init printed before it (the scenarios parse them):
 *   nested-guest: up
 *   nested-guest: pci-devices=N ids=V1,...,Vn,D1,...,Dn,   at start, when the devices change, and every 2 s
 *   mtty-state: ...                                         with mtty_state=VALUE on the command line
 * and it answers ACPI hot-unplug requests (PIIX4 acpi-pcihp) so that QEMU removes the device.
 *
 * Command line (multiboot; libvirt <cmdline>, QEMU -append):
 *   mtty_state=VALUE   0-255: keep VALUE in the scratch register (offset 7) of the first I/O BAR of the first
 *                      function with vendor 0x4348 (the mtty sample mdev), then read it back every second:
 *                      "mtty-state: <read> seq=<n>". The register is part of the state mtty's VFIO migration
 *                      moves, so the lines show whether the device state moved with the guest.
 *   mtty_vendor=V      look for vendor V instead of 0x4348: for testing without mtty, e.g. 0x1b36 with QEMU's
 *                      -device pci-serial (a 16550 too, so offset 7 is a real scratch register).
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* --- COM1, 115200 8N1, polled ------------------------------------------------------------------------------- */
#define COM1 0x3f8
static void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no UART interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB: divisor 1 = 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
}
static void putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)	/* wait for THR empty (bounded) */
		;
	outb(COM1, c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v, int width)	/* 0x%0<width>x */
{
	int n = 1;
	while (n < 8 && v >> 4 * n) n++;
	puts("0x");
	for (int i = n; i < width; i++) putc('0');
	while (n--) putc("0123456789abcdef"[v >> 4 * n & 15]);
}
static void putdec(u32 v)
{
	char b[11]; int n = 0;
	do { b[n++] = '0' + v % 10; v /= 10; } while (v);
	while (n) putc(b[--n]);
}

/* --- Clock: the ACPI PM timer. It counts 3.579545 MHz from QEMU's virtual clock, which follows host time under
 * TCG however slowly the guest runs, and one 32-bit read gives it (24 bits, wraps every 4.7 s; we read it far more
 * often). Timer-interrupt counting would lose ticks when nested TCG lags; the CMOS RTC ticks only in seconds. ---- */
static u16 pm_timer = 0xb008;	/* a guess (PIIX4's usual base); find_pm_timer() reads where the firmware put it */
static u32 pm_last, pm_frac, now_ms;
static u32 clock_ms(void)
{
	u32 t = inl(pm_timer) & 0xffffff;
	pm_frac += (t - pm_last) & 0xffffff;
	pm_last = t;
	now_ms += pm_frac / 3580;	/* 3579.545 ticks per ms: 0.013% slow, no 64-bit arithmetic */
	pm_frac %= 3580;
	return now_ms;
}

/* --- Wake-ups: PIT channel 0 at 20 Hz on IRQ 0, so the main loop can hlt between polls instead of spinning (a
 * spinning nested guest would take a whole vCPU of the outer guest, itself emulated by TCG on a busy host). --- */
extern void irq_stub(void);
static struct { u16 off_lo, sel; u8 zero, type; u16 off_hi; } __attribute__((packed)) idt[48];
static void timer_init(void)
{
	for (int v = 0x20; v < 0x30; v++) {	/* IRQ 0-15; exceptions stay absent (a fault resets the guest) */
		u32 a = (u32)irq_stub;
		idt[v].off_lo = a; idt[v].sel = 0x08; idt[v].zero = 0; idt[v].type = 0x8e; idt[v].off_hi = a >> 16;
	}
	struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u32)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
	/* PICs: vectors 0x20/0x28, cascade on IRQ 2, 8086 mode; only IRQ 0 unmasked */
	outb(0x20, 0x11); outb(0xa0, 0x11); outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02); outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xfe); outb(0xa1, 0xff);
	u32 div = 1193182 / 20;	/* PIT mode 2 (rate generator) */
	outb(0x43, 0x34); outb(0x40, div & 0xff); outb(0x40, div >> 8);
	__asm__ volatile("sti");
}

/* --- PCI configuration space, mechanism #1 ---------------------------------------------------------------- */
static u32 cfg_read(u32 bdf, u32 reg) { outl(0xcf8, 0x80000000u | bdf << 8 | (reg & 0xfc)); return inl(0xcfc); }
static void cfg_write(u32 bdf, u32 reg, u32 v) { outl(0xcf8, 0x80000000u | bdf << 8 | (reg & 0xfc)); outl(0xcfc, v); }

#define MAXFN 256
struct scan { u32 n, nbus; u16 bdf[MAXFN], ven[MAXFN], dev[MAXFN]; };
static struct scan scans[2];

/* Bus 0, then every bus behind a bridge (its secondary bus number): buses in increasing order, slots and functions
 * in order within each, which is the order of /sys/bus/pci/devices. Scanning all 256 buses would cost 8192
 * config reads per pass, each an I/O exit, far too slow under nested TCG; this is ~32 per bus. */
static void scan(struct scan *s)
{
	u32 todo[8] = { 1 };	/* bitmap of buses to scan */
	s->n = s->nbus = 0;
	for (u32 bus = 0; bus < 256; bus++) {
		if (!(todo[bus >> 5] >> (bus & 31) & 1))
			continue;
		s->nbus++;
		for (u32 slot = 0; slot < 32; slot++) {
			for (u32 fn = 0; fn < 8; fn++) {
				u32 bdf = bus << 8 | slot << 3 | fn, id = cfg_read(bdf, 0);
				if ((id & 0xffff) == 0xffff) {
					if (fn == 0) break;
					continue;
				}
				u32 hdr = cfg_read(bdf, 0x0c) >> 16 & 0xff;
				if (s->n < MAXFN) {
					s->bdf[s->n] = bdf; s->ven[s->n] = id & 0xffff; s->dev[s->n] = id >> 16; s->n++;
				}
				if ((hdr & 0x7f) == 1 || (hdr & 0x7f) == 2) {	/* PCI-PCI or CardBus bridge */
					u32 sec = cfg_read(bdf, 0x18) >> 8 & 0xff;
					if (sec > bus) todo[sec >> 5] |= 1u << (sec & 31);
				}
				if (fn == 0 && !(hdr & 0x80))	/* functions 1-7 only on multi-function devices */
					break;
			}
		}
	}
}
static int same(const struct scan *a, const struct scan *b)
{
	if (a->n != b->n) return 0;
	for (u32 i = 0; i < a->n; i++)
		if (a->bdf[i] != b->bdf[i] || a->ven[i] != b->ven[i] || a->dev[i] != b->dev[i]) return 0;
	return 1;
}
static void print_devices(const struct scan *s)	/* as `cat vendor... device... | tr '\n' ,` did */
{
	puts("nested-guest: pci-devices="); putdec(s->n); puts(" ids=");
	for (u32 i = 0; i < s->n; i++) { puthex(s->ven[i], 4); putc(','); }
	for (u32 i = 0; i < s->n; i++) { puthex(s->dev[i], 4); putc(','); }
	putc('\n');
}

/* The PM timer's port from the chipset's PM base (config 0x40 of the PIIX4 PM function or the ICH9 LPC bridge),
 * where the firmware put it (SeaBIOS 1.16: 0x600 on both pc and q35). */
static int pcihp = 0;	/* PIIX4 acpi-pcihp present (machine type pc) */
static void find_pm_timer(const struct scan *s)
{
	for (u32 i = 0; i < s->n; i++) {
		if (s->ven[i] != 0x8086 || (s->dev[i] != 0x7113 && s->dev[i] != 0x2918)) continue;
		u32 base = cfg_read(s->bdf[i], 0x40) & (s->dev[i] == 0x7113 ? 0xffc0 : 0xff80);
		if (base) pm_timer = base + 8;
		pcihp = s->dev[i] == 0x7113;
	}
	pm_last = inl(pm_timer) & 0xffffff;
}

/* --- ACPI PCI hot-unplug (QEMU hw/acpi/pcihp.c, PIIX4 base 0xae00, 32-bit accesses only). device_del sets the
 * slot's bit in "down" (0xae04) of the bus's hotplug select (bsel: the root bus is 0, bridges follow depth-first)
 * and raises GPE 1; the guest's _EJ0 writes the slot bit to "eject" (0xae08), which removes the device (QEMU then
 * emits DEVICE_DELETED). One slot per eject write (QEMU takes the lowest bit). "down" does not depend on the GPE
 * status, and without ACPI enabled no SCI is wired to it, so the GPE block (0xafe0) is left alone. ---------- */
#define PCIHP 0xae00
static void eject_requested(u32 nbus)
{
	for (u32 bsel = 0; bsel < nbus; bsel++) {	/* at most one bsel per bus */
		outl(PCIHP + 0x10, bsel);
		u32 down = inl(PCIHP + 0x04);
		for (u32 slot = 0; slot < 32; slot++) {
			if (!(down >> slot & 1)) continue;
			outl(PCIHP + 0x08, 1u << slot);
			puts("nested-guest: ejected slot "); putdec(slot); puts(" of hotplug bus "); putdec(bsel); putc('\n');
		}
	}
	outl(PCIHP + 0x10, 0);
}

/* --- Command line ------------------------------------------------------------------------------------------- */
static const char *arg(const char *cmdline, const char *key)	/* the value of KEY=... , or 0 */
{
	for (const char *p = cmdline; p && *p; p++) {
		if (p != cmdline && p[-1] != ' ') continue;
		const char *k = key, *q = p;
		while (*k && *q == *k) k++, q++;
		if (!*k) return q;
	}
	return 0;
}
static int number(const char *s, u32 *v)	/* decimal, or hex with 0x */
{
	u32 base = 10, n = 0; int digits = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s += 2;
	for (;; s++, digits++) {
		u32 d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
		      : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : 99;
		if (d >= base) break;
		n = n * base + d;
	}
	*v = n;
	return digits > 0;
}

/* --- mtty state (see the header comment) -------------------------------------------------------------------- */
static u32 mtty_vendor = 0x4348, mtty_value, mtty_port, mtty_seq;
static void mtty_state(const struct scan *s)	/* once a second */
{
	if (!mtty_port) {
		for (u32 i = 0; i < s->n && !mtty_port; i++) {
			if (s->ven[i] != mtty_vendor) continue;
			for (u32 r = 0x10; r <= 0x24; r += 4) {	/* the first I/O BAR with an address */
				u32 bar = cfg_read(s->bdf[i], r);
				if (bar & 1) {
					if (bar & 0xfffc) { mtty_port = bar & 0xfffc; break; }
				} else if ((bar & 6) == 4) {
					r += 4;	/* 64-bit memory BAR: skip its upper half */
				}
			}
			if (mtty_port) {
				u32 cmd = cfg_read(s->bdf[i], 0x04) & 0xffff;
				if (!(cmd & 1)) cfg_write(s->bdf[i], 0x04, cmd | 1);	/* I/O decoding on */
			}
		}
		if (!mtty_port) { puts("mtty-state: no device\n"); return; }
		puts("mtty-state: device at port "); puthex(mtty_port, 1); putc('\n');
		outb(mtty_port + 7, mtty_value);
		puts("mtty-state: wrote "); putdec(mtty_value); puts(" at port "); puthex(mtty_port, 1); puts("+7\n");
	}
	puts("mtty-state: "); putdec(inb(mtty_port + 7)); puts(" seq="); putdec(++mtty_seq); putc('\n');
}

void kmain(u32 magic, const u32 *info)
{
	serial_init();
	puts("\nnested-guest: up\n");	/* on a line of its own: SeaBIOS may have left "Booting from ROM.." */
	const char *cmdline = magic == 0x2BADB002 && (info[0] & 4) ? (const char *)info[4] : 0;
	const char *v;
	int state = (v = arg(cmdline, "mtty_state=")) && number(v, &mtty_value) && mtty_value <= 255;
	if ((v = arg(cmdline, "mtty_vendor="))) number(v, &mtty_vendor);

	struct scan *cur = &scans[0], *prev = &scans[1];
	scan(cur);
	find_pm_timer(cur);
	timer_init();
	print_devices(cur);
	u32 t = clock_ms(), last_scan = t, last_print = t, last_state = t;
	if (state) mtty_state(cur);

	for (;;) {
		__asm__ volatile("hlt");	/* until the next 50 ms tick */
		t = clock_ms();
		if (t - last_scan >= 250) {	/* rescan 4 times a second: a hot-plugged device shows in the next line */
			last_scan = t;
			if (pcihp) eject_requested(cur->nbus);	/* before the scan: an ejected device is gone from it */
			struct scan *x = prev; prev = cur; cur = x;
			scan(cur);
			if (!same(cur, prev) || t - last_print >= 2000) { print_devices(cur); last_print = t; }
		}
		if (state && t - last_state >= 1000) { last_state = t; mtty_state(cur); }
	}
}
