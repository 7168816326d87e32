// A container as `docker inspect` shows it: the Docker-compatible fields skiff has. Pure.
import type { Container } from './records.js'
import { capabilityNames } from '../launch/capabilities.js'
import { DEVICES } from '../launch/spec.js'

function portMap<T>(c: Container, f: (p: NonNullable<Container['network']>['ports'][number]) => T[]): Record<string, T[]> {
  const out: Record<string, T[]> = {}
  for (const p of c.network?.ports ?? []) (out[`${p.containerPort}/${p.proto}`] ??= []).push(...f(p))
  return out
}

/** `networks`: NetworkSettings.Networks of a container on bridge networks (containers/networks.ts) */
export function inspectContainer(c: Container, dir: string, networks: Record<string, unknown> = {}): Record<string, unknown> {
  const s = c.state
  const zero = '0001-01-01T00:00:00Z'
  return {
    Id: c.id,
    Created: c.created,
    // what the container's root holds (podman's field), and whether it can gain privileges
    EffectiveCaps: capabilityNames(c.plan.process.capabilities.bounding),
    NoNewPrivileges: c.plan.process.noNewPrivileges,
    // the seccomp profile the process runs under: "default" (skiff's), a file's path, or unconfined
    SeccompProfile: c.plan.process.seccomp?.profile ?? 'unconfined',
    Path: c.plan.process.args[0],
    Args: c.plan.process.args.slice(1),
    State: {
      Status: s.paused ? 'paused' : s.status,
      Running: s.status === 'running',
      Paused: !!s.paused,
      Restarting: s.status === 'restarting',
      OOMKilled: !!s.oomKilled,
      Dead: false,
      Pid: s.pid ?? 0,
      ExitCode: s.exitCode ?? 0,
      Error: s.error ?? '',
      StartedAt: s.startedAt ?? zero,
      FinishedAt: s.finishedAt ?? zero,
    },
    Image: c.imageId,
    ResolvConfPath: '',
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    LogPath: `${dir}/ctr.log`,
    Name: `/${c.name}`,
    RestartCount: s.restarts,
    Driver: c.driver,
    Platform: 'linux',
    HostConfig: {
      AutoRemove: c.hostConfig.AutoRemove,
      RestartPolicy: c.hostConfig.RestartPolicy,
      Init: c.hostConfig.Init,
      Cgroups: c.hostConfig.Cgroups ?? 'enabled',
      Memory: c.hostConfig.Limits?.memory ?? 0,
      MemoryReservation: c.hostConfig.Limits?.memoryReservation ?? 0,
      MemorySwap: c.hostConfig.Limits?.memorySwap ?? 0,
      NanoCpus: Math.round((c.hostConfig.Limits?.cpus ?? 0) * 1e9),
      CpuShares: c.hostConfig.Limits?.cpuShares ?? 0,
      CpusetCpus: c.hostConfig.Limits?.cpusetCpus ?? '',
      CpusetMems: c.hostConfig.Limits?.cpusetMems ?? '',
      PidsLimit: c.hostConfig.Limits?.pidsLimit ?? 0,
      BlkioWeight: c.hostConfig.Limits?.blkioWeight ?? 0,
      ReadonlyRootfs: c.hostConfig.ReadonlyRootfs,
      LogConfig: { Type: c.hostConfig.LogDriver ?? 'k8s-file', Config: { 'max-size': String(c.hostConfig.LogMaxBytes) } },
      NetworkMode: c.network?.networks?.[0]?.name ?? c.network?.mode ?? 'none',
      CapAdd: c.hostConfig.CapAdd ?? [],
      CapDrop: c.hostConfig.CapDrop ?? [],
      SecurityOpt: c.hostConfig.SecurityOpt ?? [],
      GroupAdd: c.hostConfig.GroupAdd ?? [],
      UsernsMode: c.hostConfig.UsernsMode ?? '',
      PidMode: c.hostConfig.PidMode ?? '',
      UTSMode: c.hostConfig.UTSMode ?? '',
      WritableTmpfs: !!c.hostConfig.WritableTmpfs,
      Profile: c.hostConfig.Profile?.name ?? 'default',
      ProfileReason: c.hostConfig.Profile?.reason ?? '',
      Privileged: !!c.hostConfig.Privileged,
      Devices: c.plan.mounts.filter((m) => m.kind === 'bind' && m.source.startsWith('/dev/') && !DEVICES.includes(m.target))
        .map((m) => ({ PathOnHost: (m as { source: string }).source, PathInContainer: m.target, CgroupPermissions: 'rwm' })),
      Ulimits: (c.plan.process.rlimits ?? []).map((l) => ({ Name: l.name, Soft: l.soft, Hard: l.hard })),
      Sysctls: Object.fromEntries(c.plan.mounts.filter((m) => m.kind === 'sysctl').map((m) => [m.target.slice('/proc/sys/'.length).replace(/\//g, '.'), (m as { value: string }).value])),
      PortBindings: portMap(c, (p) => [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]),
      Binds: c.mounts.filter((m) => m.Type === 'bind').map((m) => `${m.Source}:${m.Destination}${m.RW ? '' : ':ro'}`),
    },
    GraphDriver: c.plan.rootfs?.kind === 'overlay'
      ? { Name: c.driver, Data: { LowerDir: c.plan.rootfs.lowerdirs.map((d) => `${(c.plan.rootfs as { layersDir: string }).layersDir}/${d}`).join(':'), UpperDir: c.plan.rootfs.upperdir, WorkDir: c.plan.rootfs.workdir } }
      : { Name: c.driver, Data: {} },
    Mounts: c.mounts.map((m) => ({ ...m, Mode: '', Propagation: 'rprivate' })),
    Config: { ...c.config, Cmd: c.config.Cmd, AttachStdin: false, AttachStdout: !c.config.Tty, AttachStderr: !c.config.Tty, StdinOnce: false },
    NetworkSettings: {
      Networks: networks,
      Ports: portMap(c, (p) => [{ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) }]),
      // Docker fills these for the default network only
      IPAddress: c.network?.ip ?? (networks.bridge as { IPAddress?: string } | undefined)?.IPAddress ?? '',
      Gateway: c.network?.gateway ?? (networks.bridge as { Gateway?: string } | undefined)?.Gateway ?? '',
      MacAddress: (networks.bridge as { MacAddress?: string } | undefined)?.MacAddress ?? '',
      // which helper connects the container: pasta or slirp4netns (or host, none, container:X)
      Helper: c.network?.mode ?? 'none',
    },
  }
}
