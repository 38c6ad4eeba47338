namespace InfoGpu;

/// <summary>
/// An error the caller can fix: bad input, a missing device, a corrupt file. The message is
/// one line that says what is wrong and what to do; the console prints it and exits with 1.
/// </summary>
public class InfoGpuException : Exception
{
    /// <summary>Creates the exception with a one-line message that says what is wrong and what to do.</summary>
    public InfoGpuException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a one-line message and the error that caused it.</summary>
    public InfoGpuException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with the default message.</summary>
    public InfoGpuException()
    {
    }
}
