#include "kernel.h"

#define __meminit __attribute__((section(".meminit.text"), cold, no_instrument_function))

int __meminit online_range(int start)
{
	printk("online one\n");
	return start;
}
