package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Search-order items (same spelling as cloud.conf [Metadata] search-order).
const (
	ConfigDrive     = "configDrive"
	MetadataService = "metadataService"
)

const (
	// DefaultMetadataURL is the link-local OpenStack metadata service.
	DefaultMetadataURL = "http://169.254.169.254"
	// DefaultRequestTimeout matches cloud.conf's [Metadata] request-timeout.
	DefaultRequestTimeout = 60 * time.Second
	// MetadataPath is the document path, relative to the service URL or the
	// config drive root.
	MetadataPath     = "openstack/latest/meta_data.json"
	configDriveLabel = "config-2"
	byLabelPath      = "/dev/disk/by-label/config-2"
)

// Device is an entry of the metadata "devices" list (device role tagging),
// used to find volumes by bus address when serials are unusable.
type Device struct {
	Type    string `json:"type"`
	Bus     string `json:"bus"`
	Serial  string `json:"serial,omitempty"`
	Address string `json:"address,omitempty"`
}

// OpenStackMetadata is the subset of meta_data.json kumo uses.
type OpenStackMetadata struct {
	UUID             string   `json:"uuid"`
	Name             string   `json:"name"`
	Hostname         string   `json:"hostname,omitempty"`
	AvailabilityZone string   `json:"availability_zone"`
	ProjectID        string   `json:"project_id,omitempty"`
	Devices          []Device `json:"devices,omitempty"`
}

// CommandRunner runs a command and returns its combined output.
type CommandRunner func(ctx context.Context, name string, args ...string) ([]byte, error)

// OpenStackOptions configures NewOpenStack.
type OpenStackOptions struct {
	// SearchOrder lists the sources to try, in order; default
	// configDrive, metadataService.
	SearchOrder []string
	// ConfigDriveDir, when set, is a directory where the config drive is
	// already mounted (or copied): <dir>/openstack/latest/meta_data.json is
	// read and no block device is mounted.
	ConfigDriveDir string
	// MetadataURL overrides the metadata service base URL.
	MetadataURL string
	// RequestTimeout bounds one metadata service request (and a config
	// drive mount); default 60s.
	RequestTimeout time.Duration
	// HTTPClient overrides the metadata service client. The default one
	// ignores proxy settings (the service is link-local).
	HTTPClient *http.Client
	// Run executes blkid/mount/umount; default os/exec.
	Run CommandRunner
}

// OpenStack reads node identity from the config drive or the metadata
// service. The first successful answer is cached for the life of the
// process (instance identity never changes); failures are not cached.
type OpenStack struct {
	order   []string
	dir     string
	url     string
	timeout time.Duration
	client  *http.Client
	run     CommandRunner
	byLabel string // /dev/disk/by-label/config-2 (tests override)

	mu     sync.Mutex
	cached *OpenStackMetadata
}

var _ InstanceMetadata = (*OpenStack)(nil)

// NewOpenStack validates opts and returns a metadata source.
func NewOpenStack(opts OpenStackOptions) (*OpenStack, error) {
	o := &OpenStack{
		order:   opts.SearchOrder,
		dir:     opts.ConfigDriveDir,
		url:     strings.TrimRight(opts.MetadataURL, "/"),
		timeout: opts.RequestTimeout,
		client:  opts.HTTPClient,
		run:     opts.Run,
		byLabel: byLabelPath,
	}
	if len(o.order) == 0 {
		o.order = []string{ConfigDrive, MetadataService}
	}
	if len(o.order) > 2 {
		return nil, fmt.Errorf("metadata search order %v: at most 2 items", o.order)
	}
	for i, s := range o.order {
		switch {
		case strings.EqualFold(s, ConfigDrive):
			o.order[i] = ConfigDrive
		case strings.EqualFold(s, MetadataService):
			o.order[i] = MetadataService
		default:
			return nil, fmt.Errorf("metadata search order: unknown source %q (want %s or %s)", s, ConfigDrive, MetadataService)
		}
	}
	if len(o.order) == 2 && o.order[0] == o.order[1] {
		return nil, fmt.Errorf("metadata search order: duplicate source %q", o.order[0])
	}
	if o.url == "" {
		o.url = DefaultMetadataURL
	}
	if o.timeout <= 0 {
		o.timeout = DefaultRequestTimeout
	}
	if o.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
		o.client = &http.Client{Transport: tr}
	}
	if o.run == nil {
		o.run = execRun
	}
	return o, nil
}

func execRun(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// Get returns the instance metadata, trying each source of the search order
// until one succeeds.
func (o *OpenStack) Get(ctx context.Context) (*OpenStackMetadata, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cached != nil {
		return o.cached, nil
	}
	var errs []error
	for _, src := range o.order {
		var md *OpenStackMetadata
		var err error
		switch src {
		case ConfigDrive:
			md, err = o.fromConfigDrive(ctx)
		case MetadataService:
			md, err = o.fromService(ctx)
		}
		if err == nil {
			err = md.check()
		}
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Instance metadata source failed", "source", src, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		klog.FromContext(ctx).V(2).Info("Read instance metadata", "source", src, "uuid", md.UUID, "availabilityZone", md.AvailabilityZone)
		o.cached = md
		return md, nil
	}
	return nil, fmt.Errorf("instance metadata unavailable: %w", errors.Join(errs...))
}

// InstanceID returns the Nova server UUID.
func (o *OpenStack) InstanceID(ctx context.Context) (string, error) {
	md, err := o.Get(ctx)
	if err != nil {
		return "", err
	}
	return md.UUID, nil
}

// Zone returns the Nova availability zone (may be "" on clouds without
// AZs).
func (o *OpenStack) Zone(ctx context.Context) (string, error) {
	md, err := o.Get(ctx)
	if err != nil {
		return "", err
	}
	return md.AvailabilityZone, nil
}

// Devices returns the tagged devices (type, bus, serial, address).
func (o *OpenStack) Devices(ctx context.Context) ([]Device, error) {
	md, err := o.Get(ctx)
	if err != nil {
		return nil, err
	}
	return md.Devices, nil
}

func (md *OpenStackMetadata) check() error {
	if strings.TrimSpace(md.UUID) == "" {
		return errors.New("meta_data.json has an empty uuid")
	}
	return nil
}

func parseMetadata(r io.Reader) (*OpenStackMetadata, error) {
	var md OpenStackMetadata
	if err := json.NewDecoder(io.LimitReader(r, 4<<20)).Decode(&md); err != nil {
		return nil, fmt.Errorf("decoding meta_data.json: %w", err)
	}
	return &md, nil
}

func (o *OpenStack) fromService(ctx context.Context) (*OpenStackMetadata, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	u := o.url + "/" + MetadataPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only body
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s: unexpected status %s", u, resp.Status)
	}
	return parseMetadata(resp.Body)
}

func (o *OpenStack) fromConfigDrive(ctx context.Context) (*OpenStackMetadata, error) {
	if o.dir != "" {
		return readMetadataFile(filepath.Join(o.dir, filepath.FromSlash(MetadataPath)))
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	dev, err := o.findConfigDrive(ctx)
	if err != nil {
		return nil, err
	}
	mnt, err := os.MkdirTemp("", "kumo-configdrive-")
	if err != nil {
		return nil, err
	}
	// Runs after the unmount below (defers are LIFO); a leftover empty
	// directory in the temp dir is harmless but worth a log line.
	defer func() {
		if err := os.Remove(mnt); err != nil {
			klog.FromContext(ctx).Error(err, "Removing config drive mount point failed", "path", mnt)
		}
	}()
	var mountErrs []error
	mounted := false
	for _, fstype := range []string{"iso9660", "vfat"} {
		out, err := o.run(ctx, "mount", "-t", fstype, "-o", "ro", dev, mnt)
		if err == nil {
			mounted = true
			break
		}
		mountErrs = append(mountErrs, fmt.Errorf("mount -t %s %s: %v: %s", fstype, dev, err, strings.TrimSpace(string(out))))
	}
	if !mounted {
		return nil, errors.Join(mountErrs...)
	}
	defer func() {
		// Unmount even if ctx expired.
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ucancel()
		if out, err := o.run(uctx, "umount", mnt); err != nil {
			klog.FromContext(ctx).Error(err, "Unmounting config drive failed", "path", mnt, "output", strings.TrimSpace(string(out)))
		}
	}()
	return readMetadataFile(filepath.Join(mnt, filepath.FromSlash(MetadataPath)))
}

func (o *OpenStack) findConfigDrive(ctx context.Context) (string, error) {
	if _, err := os.Stat(o.byLabel); err == nil {
		return o.byLabel, nil
	}
	var lastErr error
	for _, label := range []string{configDriveLabel, strings.ToUpper(configDriveLabel)} {
		out, err := o.run(ctx, "blkid", "-l", "-t", "LABEL="+label, "-o", "device")
		dev := strings.TrimSpace(string(out))
		if err == nil && dev != "" {
			return strings.Fields(dev)[0], nil
		}
		if err != nil {
			lastErr = err
		}
	}
	if lastErr != nil {
		return "", fmt.Errorf("no config drive (block device labelled %s) found: blkid: %v", configDriveLabel, lastErr)
	}
	return "", fmt.Errorf("no config drive (block device labelled %s) found", configDriveLabel)
}

func readMetadataFile(path string) (*OpenStackMetadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // opened read-only; nothing to flush
	return parseMetadata(f)
}
