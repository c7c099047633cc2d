#include "kernel.h"

/* Entries in the layouts of Linux 6.1 on x86-64: a 16-byte relative
 * jump_entry, a 12-byte exception_table_entry and a 4-byte .smp_locks
 * offset. */
struct static_key { int enabled; };
struct static_key feature_key;

static inline int feature_enabled(void)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[yes] - .\n\t"
		 ".quad feature_key - .\n\t"
		 ".popsection" : : : : yes);
	return 0;
yes:
	return 1;
}

static inline int read_user(const int *p)
{
	int v = 0;
	asm volatile("1: movl (%1), %0\n2:\n\t"
		     ".pushsection __ex_table, \"a\"\n\t"
		     ".balign 4\n\t"
		     ".long 1b - ., 2b - ., 0\n\t"
		     ".popsection" : "+r"(v) : "r"(p));
	return v;
}

static inline void locked_inc(int *p)
{
	asm volatile(".pushsection .smp_locks, \"a\"\n\t"
		     ".balign 4\n\t"
		     ".long 1f - .\n\t"
		     ".popsection\n"
		     "1: lock incl %0" : "+m"(*p));
}

int handle(int *counter, const int *user)
{
	if (feature_enabled())
		locked_inc(counter);
	return read_user(user);
}

int untouched(int *counter)
{
	locked_inc(counter);
	return feature_enabled();
}
