#include "kernel.h"

struct ops { int (*show)(int); };

static int show_plain(int x)
{
	printk("%d\n", x);
	return 0;
}

struct ops plain_ops = { .show = show_plain };

int open_ops(struct ops *o)
{
	o->show = show_plain;
	return 0;
}
