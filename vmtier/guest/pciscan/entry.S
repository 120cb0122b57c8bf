/* Multiboot (v1) entry of pciscan, the nested test guest (see pciscan.c). QEMU's -kernel loads this ELF32 at
 * 1 MiB and jumps to _start in 32-bit protected mode, EAX = 0x2BADB002, EBX = the multiboot info. */

	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002		/* magic */
	.long 0				/* flags: nothing requested (QEMU passes the command line regardless) */
	.long -0x1BADB002		/* checksum: magic + flags + checksum = 0 */

	.text
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	/* Our own GDT: the multiboot spec leaves GDTR undefined, and the timer interrupt reloads CS from it. */
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %ss
	movw %cx, %fs
	movw %cx, %gs
	/* Zero .bss ourselves rather than trust the loader to (EAX/EBX are kept for kmain). */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	movl %eax, %edx
	xorl %eax, %eax
	cld
	rep stosb
	pushl %ebx			/* kmain(magic, info) */
	pushl %edx
	call kmain
2:	cli
	hlt
	jmp 2b

/* IRQ 0-15 (PIC remapped to vectors 0x20-0x2f): the timer only wakes the main loop out of hlt, so the handler just
 * acknowledges it (EOI to both PICs: harmless when the slave did not raise it). */
	.globl irq_stub
irq_stub:
	pushl %eax
	movb $0x20, %al
	outb %al, $0xa0
	outb %al, $0x20
	popl %eax
	iret

	.section .rodata
	.align 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: flat 4 GiB code, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: flat 4 GiB data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.skip 16384
stack_top:
