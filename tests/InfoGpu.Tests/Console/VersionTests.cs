using System.Reflection;
using System.Text.RegularExpressions;

namespace InfoGpu.Tests.Console;

/// <summary><c>infogpu --version</c>: the version and commit the build stamped into the console.</summary>
public class VersionTests
{
    [Fact]
    public void VersionPrintsTheAssemblysInformationalVersionAndCommit()
    {
        string informational = typeof(InfoGpu.Host.Cli.CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var (code, output, err) = ConsoleRunner.Run("--version");
        Assert.True(code == 0, err);
        var m = Regex.Match(output.Trim(), @"^infogpu (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}|unknown)\)$");
        Assert.True(m.Success, $"unexpected --version output '{output.Trim()}'");
        string[] parts = informational.Split('+');
        Assert.Equal(parts[0], m.Groups[1].Value);
        if (parts.Length > 1)
            Assert.StartsWith(m.Groups[2].Value, parts[1]);
        else
            Assert.Equal("unknown", m.Groups[2].Value);
        // The engine is stamped with the same version by the same build.
        Assert.Equal(parts[0], typeof(InfoGpu.Data.FashionMnist).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0]);
    }
}
