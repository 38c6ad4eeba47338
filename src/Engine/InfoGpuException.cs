namespace InfoGpu;

/// <summary>
/// An error the caller can fix: bad input, a missing device, a corrupt file. The message is
/// one line that says what is wrong and what to do; the console prints it and exits with 1.
/// </summary>
public class InfoGpuException : Exception
{
    public InfoGpuException(string message)
        : base(message)
    {
    }

    public InfoGpuException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public InfoGpuException()
    {
    }
}
