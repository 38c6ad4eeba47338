using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace InfoGpu.Data;

/// <summary>
/// The identity of a training set as checkpoints keep it: the SHA-256 of its float32 values
/// (little-endian), so that a resume on other data (another folder, another --limit, other
/// binarization) is refused instead of silently training on it.
/// </summary>
internal static class DataFingerprint
{
    /// <summary>The metadata key of the training data's fingerprint.</summary>
    public const string Key = "train_sha256";

    /// <summary>Lowercase hex SHA-256 of the values' bytes.</summary>
    public static string Of(ReadOnlySpan<float> values) => Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values)));

    /// <summary>Throws when the checkpoint records a fingerprint and it is not <paramref name="fingerprint"/> (checkpoints of the earlier layout have none).</summary>
    public static void Check(Checkpoints.TensorSet checkpoint, string fingerprint)
    {
        if (checkpoint.Metadata.TryGetValue(Key, out var stored) && stored != fingerprint)
            throw new InfoGpuException($"{checkpoint.Source} was trained on other images (the same count, other content); resume with the same --data, --limit and binarization");
    }
}
