/**
 * The tutorial container of the welcome page: Docker's own getting-started
 * line with Berth's image, and the ports to fall back on when 80 is taken or
 * not allowed.
 */
import type { PortMap } from '@berth/api';

export const TUTORIAL_NAME = 'getting-started';
export const TUTORIAL_IMAGE = 'berth/getting-started';
export const HELLO_IMAGE = 'berth/hello-world';

/** 80 first, as the tutorial says; then 8080, 8081, … */
export const TUTORIAL_PORTS = [80, ...Array.from({ length: 10 }, (_, i) => 8080 + i)];

export function tutorialRunLine(port: number): string {
  return `docker run -d -p ${port}:80 --name ${TUTORIAL_NAME} ${TUTORIAL_IMAGE}`;
}

export function tutorialCreateBody(port: number): Record<string, unknown> {
  return {
    Image: TUTORIAL_IMAGE,
    ExposedPorts: { '80/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: String(port) }] } },
  };
}

/** Whether a failed start is about the host port (taken, or privileged), so another port may work. */
export function isPortProblem(message: string): boolean {
  return /port|address already in use|EADDRINUSE|EACCES|permission denied|bind/i.test(message);
}

/** The host port the engine published for container port 80, from inspect's NetworkSettings.Ports. */
export function publishedPort(ports: PortMap | null | undefined): number | undefined {
  const p = ports?.['80/tcp']?.find((b) => b.HostPort)?.HostPort;
  return p ? Number(p) : undefined;
}
