using System.Reflection;

namespace InfoGpu.Datasets;

/// <summary>The data sets embedded in this assembly, opened by resource name. Safe to call from several threads.</summary>
public static class EmbeddedData
{
    /// <summary>The assembly that holds the data (resources named "InfoGpu.Data.FashionMnistSubset.*" and "InfoGpu.Data.MakeClassification.*").</summary>
    public static Assembly Assembly => typeof(EmbeddedData).Assembly;

    /// <summary>Opens the resource <paramref name="name"/> for reading; null when this build does not carry it.</summary>
    public static Stream? Open(string name) => Assembly.GetManifestResourceStream(name);
}
