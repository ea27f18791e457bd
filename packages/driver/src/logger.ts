/** Where the driver reports what it dropped or failed to do. Defaults to `console`. */
export interface DriverLogger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export const consoleLogger: DriverLogger = {
  warn: (message, ...details) => console.warn(`[widget-todevice] ${message}`, ...details),
  error: (message, ...details) => console.error(`[widget-todevice] ${message}`, ...details),
};
