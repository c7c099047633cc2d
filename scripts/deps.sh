# Installs the Debian packages keepup and its tests need. Sourced by the
# other scripts; runs apt-get as root, and as another user lists what is
# missing.

keepup_packages=(
	gcc-12 make bc flex bison libssl-dev libelf-dev dwarves xz-utils patch
	kmod binutils cpio qemu-system-x86 busybox-static
)

install_deps() {
	local missing=()
	local p
	for p in "${keepup_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${#missing[@]}" -gt 0 ]; then
			echo "missing Debian packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
			return 1
		fi
		return 0
	fi
	# apt also needs fresh package lists to find the kernel packages.
	apt-get update
	if [ "${#missing[@]}" -gt 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
	fi
}
