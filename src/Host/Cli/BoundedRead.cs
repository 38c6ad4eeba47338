namespace InfoGpu.Host.Cli;

/// <summary>Reads small input files with a cap, so that a huge, endless or special file (a device, a FIFO) is a one-line error and not an exhausted memory.</summary>
internal static class BoundedRead
{
    /// <summary>The whole file, refused once it passes <paramref name="maxBytes"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The most bytes accepted.</param>
    /// <param name="what">What the file should be, for the message ("a Boltzmann machine (bm.json)").</param>
    public static byte[] AllBytes(string path, int maxBytes, string what)
    {
        if (Directory.Exists(path))
            throw new InfoGpuException($"{path} is a folder; give {what}");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + n > maxBytes)
                    throw new InfoGpuException($"{path} is larger than {maxBytes:N0} bytes; it is not {what}");
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read {path}: {e.Message}");
        }
    }
}
