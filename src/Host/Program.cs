using InfoGpu.Host.Cli;

return MpiEntry.Run(args);
