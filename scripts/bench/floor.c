/* The floor for `vgpuctl types --json`: a plain serial C reader of exactly the files vgpuctl reads
 * (mdev parents' type attributes, VFs' nvidia/ files and PCI identity), with no parsing or output. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static long bytes_read;

static void slurp(const char *path) {
    char buffer[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) bytes_read += n;
    close(fd);
}

static void pci_identity(const char *device) {
    char path[4096], target[4096];
    snprintf(path, sizeof path, "%s/physfn", device);
    ssize_t n = readlink(path, target, sizeof target);
    (void)n;
    snprintf(path, sizeof path, "%s/vendor", device); slurp(path);
    snprintf(path, sizeof path, "%s/physfn/numa_node", device); slurp(path);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s SYSFS\n", argv[0]); return 2; }
    char path[4096];
    const char *attributes[] = {"name", "description", "device_api", "available_instances"};
    snprintf(path, sizeof path, "%s/class/mdev_bus", argv[1]);
    DIR *bus = opendir(path);
    struct dirent *parent, *type;
    while (bus && (parent = readdir(bus))) {
        if (parent->d_name[0] == '.') continue;
        char types[4096];
        snprintf(types, sizeof types, "%s/class/mdev_bus/%s/mdev_supported_types", argv[1], parent->d_name);
        DIR *dir = opendir(types);
        while (dir && (type = readdir(dir))) {
            if (type->d_name[0] == '.') continue;
            for (int i = 0; i < 4; i++) {
                snprintf(path, sizeof path, "%s/%s/%s", types, type->d_name, attributes[i]);
                slurp(path);
            }
        }
        if (dir) closedir(dir);
        snprintf(path, sizeof path, "%s/class/mdev_bus/%s", argv[1], parent->d_name);
        pci_identity(path);
    }
    if (bus) closedir(bus);
    snprintf(path, sizeof path, "%s/bus/pci/devices", argv[1]);
    DIR *pci = opendir(path);
    struct dirent *device;
    while (pci && (device = readdir(pci))) {
        if (device->d_name[0] == '.') continue;
        char base[4096];
        snprintf(base, sizeof base, "%s/bus/pci/devices/%s", argv[1], device->d_name);
        snprintf(path, sizeof path, "%s/nvidia/creatable_vgpu_types", base);
        if (access(path, F_OK) != 0) continue;
        slurp(path);
        snprintf(path, sizeof path, "%s/nvidia/current_vgpu_type", base); slurp(path);
        pci_identity(base);
    }
    if (pci) closedir(pci);
    printf("%ld bytes\n", bytes_read);
    return 0;
}
