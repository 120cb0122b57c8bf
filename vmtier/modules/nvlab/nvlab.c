// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvlab: an NVIDIA-like vendor-specific VFIO driver for vgpuctl's real-kernel lab (vmtier/run.sh, pci-* scenarios).
 *
 * NVIDIA's vGPU 17+ on Hopper and later has no mdev bus: the GPU's SR-IOV VFs are bound to NVIDIA's vfio-pci-core
 * variant driver, and each VF becomes a vGPU by writing a type ID to its nvidia/current_vgpu_type. This module is a
 * vfio-pci-core variant driver of the same shape for the emulated igb NIC's VFs (8086:10ca), so that vgpuctl's
 * vendor-specific layout runs on real VFs, real VFIO and a real nested guest. Per VF it offers
 *   nvidia/creatable_vgpu_types  "ID    : vGPU Name" then one "ID : NAME" line per type this VF can become now
 *   nvidia/current_vgpu_type     the VF's type ID (0: none); write an ID to make it that vGPU, 0 to release it
 *   nvidia/vgpu_params           the vGPU's plugin parameters ("name=value,..."), kept until the VF is released
 * and models the rules NVIDIA documents for time-sliced vGPUs:
 *   - a fixed list of H200 (141 GB) time-sliced C-series types with NVIDIA's IDs and names;
 *   - at most (141 GB / the type's frame buffer) instances of a type per physical GPU, and never more than the GPU
 *     has VFs;
 *   - a GPU hosting a type offers only that type until its last vGPU is released (homogeneous; no mixed-size
 *     mode);
 *   - writes are refused with EBUSY while the VF is open through VFIO, and with EINVAL for a type that is not
 *     creatable here now (unknown, full, or another type than the GPU hosts); a VF that is already a vGPU must
 *     be released (0) before it can become another type (EBUSY);
 *   - opening a VF that is not a vGPU is refused (ENODEV): without a type there is nothing to give a guest.
 * The state of a physical GPU (which type, how many instances) lives per PF and is shared by its VFs.
 * Not modelled: MIG-backed types and MIG mode, mixed-size mode, the vGPU's own PCI IDs and BARs (the guest sees
 * the igb VF as it is), the frame buffer itself, scheduling, licensing, migration.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/mutex.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/vfio_pci_core.h>

#define NVLAB_GPU_FB_GB 141
#define NVLAB_PARAMS_MAX 256

struct nvlab_type {
	unsigned int id;
	const char *name;
	unsigned int fb_gb;
};

/* NVIDIA H200X time-sliced C-series vGPU types (the IDs and names vgpuctl's fixture host uses). */
static const struct nvlab_type nvlab_types[] = {
	{ 1420, "NVIDIA H200X-4C", 4 },
	{ 1421, "NVIDIA H200X-7C", 7 },
	{ 1422, "NVIDIA H200X-8C", 8 },
	{ 1423, "NVIDIA H200X-10C", 10 },
	{ 1424, "NVIDIA H200X-14C", 14 },
	{ 1425, "NVIDIA H200X-17C", 17 },
	{ 1426, "NVIDIA H200X-35C", 35 },
	{ 1427, "NVIDIA H200X-47C", 47 },
	{ 1428, "NVIDIA H200X-70C", 70 },
	{ 1429, "NVIDIA H200X-141C", 141 },
};

/* One physical GPU (a PF): the type its vGPUs run and how many there are. Shared by the PF's bound VFs. */
struct nvlab_gpu {
	struct list_head node;
	struct pci_dev *pf;
	unsigned int users;	/* bound VFs */
	const struct nvlab_type *type;	/* NULL while no vGPU exists */
	unsigned int instances;
};

struct nvlab_vf {
	struct vfio_pci_core_device core;
	struct nvlab_gpu *gpu;
	const struct nvlab_type *type;	/* NULL: not a vGPU */
	bool open;
	char params[NVLAB_PARAMS_MAX];
};

/* One lock for every GPU's and VF's vGPU state: sysfs writes and VFIO opens are rare. */
static DEFINE_MUTEX(nvlab_lock);
static LIST_HEAD(nvlab_gpus);

static const struct nvlab_type *nvlab_find_type(unsigned int id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nvlab_types); i++)
		if (nvlab_types[i].id == id)
			return &nvlab_types[i];
	return NULL;
}

static unsigned int nvlab_max_instances(const struct nvlab_gpu *gpu, const struct nvlab_type *type)
{
	unsigned int by_memory = NVLAB_GPU_FB_GB / type->fb_gb;
	unsigned int vfs = pci_sriov_get_totalvfs(gpu->pf);

	return vfs > 0 && vfs < by_memory ? vfs : by_memory;
}

/* Whether a VF without a vGPU could become `type` now. Called with nvlab_lock held. */
static bool nvlab_creatable(const struct nvlab_gpu *gpu, const struct nvlab_type *type)
{
	if (gpu->type && gpu->type != type)
		return false;
	return gpu->instances < nvlab_max_instances(gpu, type);
}

/* The VF's state from its PCI device (drvdata is the vfio_pci_core_device, as vfio-pci-core expects). */
static struct nvlab_vf *nvlab_vf_of(struct device *dev)
{
	return container_of((struct vfio_pci_core_device *)dev_get_drvdata(dev), struct nvlab_vf, core);
}

static ssize_t creatable_vgpu_types_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct nvlab_vf *vf = nvlab_vf_of(dev);
	ssize_t len;
	size_t i;

	len = sysfs_emit(buf, "ID    : vGPU Name\n");
	mutex_lock(&nvlab_lock);
	/* A VF that already is a vGPU can become nothing else until it is released. */
	if (!vf->type)
		for (i = 0; i < ARRAY_SIZE(nvlab_types); i++)
			if (nvlab_creatable(vf->gpu, &nvlab_types[i]))
				len += sysfs_emit_at(buf, len, "%-5u : %s\n", nvlab_types[i].id, nvlab_types[i].name);
	mutex_unlock(&nvlab_lock);
	return len;
}
static DEVICE_ATTR_RO(creatable_vgpu_types);

static ssize_t current_vgpu_type_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct nvlab_vf *vf = nvlab_vf_of(dev);
	unsigned int id;

	mutex_lock(&nvlab_lock);
	id = vf->type ? vf->type->id : 0;
	mutex_unlock(&nvlab_lock);
	return sysfs_emit(buf, "%u\n", id);
}

static void nvlab_release(struct nvlab_vf *vf)
{
	vf->type = NULL;
	vf->params[0] = '\0';
	if (vf->gpu->instances && --vf->gpu->instances == 0)
		vf->gpu->type = NULL;
}

static ssize_t current_vgpu_type_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
	struct nvlab_vf *vf = nvlab_vf_of(dev);
	const struct nvlab_type *type;
	unsigned int id;
	int ret;

	ret = kstrtouint(buf, 0, &id);
	if (ret)
		return ret;
	mutex_lock(&nvlab_lock);
	if (vf->open) {
		ret = -EBUSY;	/* a guest (or any VFIO user) has the vGPU */
	} else if (id == 0) {
		if (vf->type)
			nvlab_release(vf);
	} else if (vf->type) {
		ret = vf->type->id == id ? 0 : -EBUSY;	/* release it first */
	} else if (!(type = nvlab_find_type(id)) || !nvlab_creatable(vf->gpu, type)) {
		ret = -EINVAL;
	} else {
		vf->type = type;
		vf->gpu->type = type;
		vf->gpu->instances++;
	}
	mutex_unlock(&nvlab_lock);
	if (ret)
		pci_info(to_pci_dev(dev), "nvlab: current_vgpu_type %u refused (%d)\n", id, ret);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(current_vgpu_type);

static ssize_t vgpu_params_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct nvlab_vf *vf = nvlab_vf_of(dev);
	ssize_t len;

	mutex_lock(&nvlab_lock);
	len = sysfs_emit(buf, "%s\n", vf->params);
	mutex_unlock(&nvlab_lock);
	return len;
}

/* Parameters apply to a vGPU before a guest opens it: refused without a type (EINVAL) and while open (EBUSY). */
static ssize_t vgpu_params_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
	struct nvlab_vf *vf = nvlab_vf_of(dev);
	size_t len = count;
	int ret = 0;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len >= NVLAB_PARAMS_MAX || (len && !strnchr(buf, len, '=')))
		return -EINVAL;
	mutex_lock(&nvlab_lock);
	if (!vf->type) {
		ret = -EINVAL;
	} else if (vf->open) {
		ret = -EBUSY;
	} else {
		memcpy(vf->params, buf, len);
		vf->params[len] = '\0';
	}
	mutex_unlock(&nvlab_lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(vgpu_params);

static struct attribute *nvlab_attrs[] = {
	&dev_attr_creatable_vgpu_types.attr,
	&dev_attr_current_vgpu_type.attr,
	&dev_attr_vgpu_params.attr,
	NULL,
};

static const struct attribute_group nvlab_group = {
	.name = "nvidia",
	.attrs = nvlab_attrs,
};

static const struct attribute_group *nvlab_groups[] = {
	&nvlab_group,
	NULL,
};

/* VFIO: a VF opens only as a vGPU, and while open its type and parameters stay as they are. */
static int nvlab_open_device(struct vfio_device *core_vdev)
{
	struct nvlab_vf *vf = container_of(core_vdev, struct nvlab_vf, core.vdev);
	int ret = 0;

	mutex_lock(&nvlab_lock);
	if (!vf->type)
		ret = -ENODEV;
	else
		vf->open = true;
	mutex_unlock(&nvlab_lock);
	if (ret) {
		pci_warn(vf->core.pdev, "nvlab: no vGPU type: write one to nvidia/current_vgpu_type before opening\n");
		return ret;
	}
	ret = vfio_pci_core_enable(&vf->core);
	if (ret) {
		mutex_lock(&nvlab_lock);
		vf->open = false;
		mutex_unlock(&nvlab_lock);
		return ret;
	}
	vfio_pci_core_finish_enable(&vf->core);
	return 0;
}

static void nvlab_close_device(struct vfio_device *core_vdev)
{
	struct nvlab_vf *vf = container_of(core_vdev, struct nvlab_vf, core.vdev);

	vfio_pci_core_close_device(core_vdev);
	mutex_lock(&nvlab_lock);
	vf->open = false;
	mutex_unlock(&nvlab_lock);
}

static const struct vfio_device_ops nvlab_vfio_ops = {
	.name = "nvlab",
	.init = vfio_pci_core_init_dev,
	.release = vfio_pci_core_release_dev,
	.open_device = nvlab_open_device,
	.close_device = nvlab_close_device,
	.ioctl = vfio_pci_core_ioctl,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = vfio_pci_core_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
};

/* The PF's shared state, made when its first VF binds. Called with nvlab_lock held. */
static struct nvlab_gpu *nvlab_gpu_get(struct pci_dev *pf)
{
	struct nvlab_gpu *gpu;

	list_for_each_entry(gpu, &nvlab_gpus, node)
		if (gpu->pf == pf) {
			gpu->users++;
			return gpu;
		}
	gpu = kzalloc(sizeof(*gpu), GFP_KERNEL);
	if (!gpu)
		return NULL;
	gpu->pf = pci_dev_get(pf);
	gpu->users = 1;
	list_add(&gpu->node, &nvlab_gpus);
	return gpu;
}

static void nvlab_gpu_put(struct nvlab_gpu *gpu)
{
	if (--gpu->users)
		return;
	list_del(&gpu->node);
	pci_dev_put(gpu->pf);
	kfree(gpu);
}

static int nvlab_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct nvlab_vf *vf;
	struct nvlab_gpu *gpu;
	int ret;

	/* Only VFs: the vendor-specific layout puts vGPUs on a GPU's virtual functions. */
	if (!pdev->is_virtfn)
		return -ENODEV;
	mutex_lock(&nvlab_lock);
	gpu = nvlab_gpu_get(pci_physfn(pdev));
	mutex_unlock(&nvlab_lock);
	if (!gpu)
		return -ENOMEM;
	vf = vfio_alloc_device(nvlab_vf, core.vdev, &pdev->dev, &nvlab_vfio_ops);
	if (IS_ERR(vf)) {
		ret = PTR_ERR(vf);
		goto put_gpu;
	}
	vf->gpu = gpu;
	dev_set_drvdata(&pdev->dev, &vf->core);
	ret = vfio_pci_core_register_device(&vf->core);
	if (ret)
		goto put_vdev;
	return 0;

put_vdev:
	vfio_put_device(&vf->core.vdev);
put_gpu:
	mutex_lock(&nvlab_lock);
	nvlab_gpu_put(gpu);
	mutex_unlock(&nvlab_lock);
	return ret;
}

static void nvlab_remove(struct pci_dev *pdev)
{
	struct nvlab_vf *vf = nvlab_vf_of(&pdev->dev);
	struct nvlab_gpu *gpu = vf->gpu;

	vfio_pci_core_unregister_device(&vf->core);
	mutex_lock(&nvlab_lock);
	/* An unbound VF is no vGPU any more (as when NVIDIA's driver unloads): its instance is given back. */
	if (vf->type)
		nvlab_release(vf);
	nvlab_gpu_put(gpu);
	mutex_unlock(&nvlab_lock);
	vfio_put_device(&vf->core.vdev);
}

/*
 * The emulated igb's VF; bound through driver_override ("nvlab"), as variant drivers are. With bind_vfs=1 the
 * entry matches by ID alone, so VFs bind as they appear, as NVIDIA's driver takes its GPUs' VFs (the lab leaves it
 * off by default so that VFs other scenarios enable stay unbound).
 */
static bool bind_vfs;
module_param(bind_vfs, bool, 0444);
MODULE_PARM_DESC(bind_vfs, "bind every igb VF as it appears, not only those whose driver_override names nvlab");

static struct pci_device_id nvlab_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_VENDOR_ID_INTEL, 0x10ca) },
	{}
};
MODULE_DEVICE_TABLE(pci, nvlab_table);

static struct pci_driver nvlab_driver = {
	.name = KBUILD_MODNAME,
	.id_table = nvlab_table,
	.probe = nvlab_probe,
	.remove = nvlab_remove,
	.err_handler = &vfio_pci_core_err_handlers,
	.dev_groups = nvlab_groups,	/* the driver core adds nvidia/ after probe and removes it before remove */
	.driver_managed_dma = true,
};
static int __init nvlab_init(void)
{
	if (bind_vfs)
		nvlab_table[0].override_only = 0;
	return pci_register_driver(&nvlab_driver);
}
module_init(nvlab_init);

static void __exit nvlab_exit(void)
{
	pci_unregister_driver(&nvlab_driver);
}
module_exit(nvlab_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("NVIDIA-like vendor-specific VFIO vGPU driver for igb VFs (vgpuctl's lab)");
