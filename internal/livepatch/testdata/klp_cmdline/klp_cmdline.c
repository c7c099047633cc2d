// SPDX-License-Identifier: GPL-2.0
/*
 * A live patch for tests: /proc/cmdline prints a fixed line instead of the
 * boot command line while the patch is enabled.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static int klp_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "keepup-test: cmdline patched\n");
	return 0;
}

static struct klp_func klp_cmdline_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = klp_cmdline_show },
	{}
};

static struct klp_object klp_cmdline_objs[] = {
	{ .name = NULL, .funcs = klp_cmdline_funcs }, /* NULL name: vmlinux */
	{}
};

static struct klp_patch klp_cmdline_patch = {
	.mod = THIS_MODULE,
	.objs = klp_cmdline_objs,
};

static int __init klp_cmdline_init(void)
{
	return klp_enable_patch(&klp_cmdline_patch);
}

static void __exit klp_cmdline_exit(void)
{
}

module_init(klp_cmdline_init);
module_exit(klp_cmdline_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("keepup test patch for /proc/cmdline");
