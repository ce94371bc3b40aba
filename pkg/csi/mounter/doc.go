// Package mounter implements backend.Mounter on Linux over
// k8s.io/mount-utils: mount(8), mkfs via SafeFormatAndMount, resize2fs /
// xfs_growfs via ResizeFs, statfs(2) and the BLKGETSIZE64 ioctl. It needs
// root and the host's util-linux, e2fsprogs and (for XFS) xfsprogs.
package mounter
