// stargz-grpc: a test aid. Debian 12 packages stargz-snapshotter's library (golang-github-containerd-
// stargz-snapshotter-dev) and ctr-remote, but not its daemon, containerd-stargz-grpc, and the library's
// service package needs k8s.io/cri-api, which Debian does not package. This assembles the daemon's
// snapshotter from the same library parts the service package uses (the FUSE filesystem that mounts layers
// from the registry, over the overlay-based remote snapshotter) and serves it as a containerd proxy
// snapshotter on a unix socket. Registries are reached over plain HTTP (the tests' registry on 127.0.0.1),
// with no credentials; the filesystem runs with the daemon's defaults (fs/config.Config's zero value).
// Built offline by ../build.sh from Debian's Go sources.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/contrib/snapshotservice"
	"github.com/containerd/containerd/reference"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/snapshots/overlay/overlayutils"
	stargzfs "github.com/containerd/stargz-snapshotter/fs"
	fsconfig "github.com/containerd/stargz-snapshotter/fs/config"
	"github.com/containerd/stargz-snapshotter/fs/layer"
	"github.com/containerd/stargz-snapshotter/fs/source"
	snbase "github.com/containerd/stargz-snapshotter/snapshot"
	rhttp "github.com/hashicorp/go-retryablehttp"
	"google.golang.org/grpc"
)

// plainHTTPHosts is the daemon's registry configuration reduced to what the tests need: the image's own
// host over plain HTTP, anonymous, through the retrying client the daemon uses (fs/remote sets its retries).
func plainHTTPHosts(ref reference.Spec) ([]docker.RegistryHost, error) {
	client := rhttp.NewClient()
	client.Logger = nil
	tr := client.StandardClient()
	tr.Timeout = 30 * time.Second
	return []docker.RegistryHost{{
		Client:       tr,
		Host:         ref.Hostname(),
		Scheme:       "http",
		Path:         "/v2",
		Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve,
		Authorizer:   docker.NewDockerAuthorizer(docker.WithAuthClient(tr)),
	}}, nil
}

func main() {
	address := flag.String("address", "", "unix socket to serve the snapshots API on")
	root := flag.String("root", "", "state directory (snapshots, cache, FUSE mounts)")
	flag.Parse()
	if err := run(*address, *root); err != nil {
		fmt.Fprintf(os.Stderr, "stargz-grpc: %v\n", err)
		os.Exit(1)
	}
}

func run(address, root string) error {
	if address == "" || root == "" {
		return fmt.Errorf("--address and --root are required")
	}
	var cfg fsconfig.Config
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	ctx := context.Background()
	// As the daemon does: overlay's opaque-directory xattr in the trusted namespace unless the kernel's
	// overlay needs "userxattr" (rootless).
	snapshotterRoot := filepath.Join(root, "snapshotter")
	if err := os.MkdirAll(snapshotterRoot, 0o700); err != nil {
		return err
	}
	opaque := layer.OverlayOpaqueTrusted
	if userxattr, err := overlayutils.NeedsUserXAttr(snapshotterRoot); err == nil && userxattr {
		opaque = layer.OverlayOpaqueUser
	}
	fs, err := stargzfs.NewFilesystem(filepath.Join(root, "stargz"), cfg,
		stargzfs.WithGetSources(source.FromDefaultLabels(plainHTTPHosts)),
		stargzfs.WithOverlayOpaqueType(opaque))
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	sn, err := snbase.NewSnapshotter(ctx, snapshotterRoot, fs, snbase.AsynchronousRemove)
	if err != nil {
		return fmt.Errorf("snapshotter: %w", err)
	}
	defer sn.Close()
	server := grpc.NewServer()
	snapshotsapi.RegisterSnapshotsServer(server, snapshotservice.FromSnapshotter(sn))
	if err := os.Remove(address); err != nil && !os.IsNotExist(err) {
		return err
	}
	listener, err := net.Listen("unix", address)
	if err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	select {
	case <-stop:
		server.GracefulStop()
		return nil
	case err := <-served:
		return err
	}
}
