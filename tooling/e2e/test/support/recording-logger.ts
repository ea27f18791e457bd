import type { DriverLogger } from "@widget-todevice/driver";

/** A driver logger that keeps every line, for assertions on what the driver reported. */
export class RecordingLogger implements DriverLogger {
  readonly lines: string[] = [];
  warn(message: string): void {
    this.lines.push(message);
  }
  error(message: string): void {
    this.lines.push(message);
  }
}
