#include "kernel.h"

static int __init setup(void)
{
	printk("setup one\n");
	return 0;
}

int (*setup_hook)(void) __attribute__((section(".init.data"))) = setup;

int show(int x)
{
	printk("show %d\n", x);
	return 0;
}
