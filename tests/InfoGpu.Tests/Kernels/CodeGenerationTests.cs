using System.Diagnostics;
using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Kernels;

/// <summary>
/// Compiles every ILGPU kernel of InfoGpu.Kernels to PTX and to OpenCL C with no GPU present,
/// and checks the OpenCL C with clang-15 (-cl-std=CL2.0). Catches kernels that only work on
/// the CPU accelerator (managed calls, missing intrinsics, unsupported shuffles).
/// </summary>
public class CodeGenerationTests
{
    /// <summary>Every kernel entry point: static methods of InfoGpu.Kernels.Gpu named *Kernel, generic ones instantiated with every struct that meets their constraints.</summary>
    public static TheoryData<string> KernelNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in Kernels())
            data.Add(name);
        return data;
    }

    internal static IEnumerable<(string Name, MethodInfo Method)> Kernels()
    {
        var assembly = typeof(Philox).Assembly;
        var structs = assembly.GetTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition && !t.IsNested).ToList();
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace == "InfoGpu.Kernels.Gpu" && t.IsAbstract && t.IsSealed))
        {
            foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal)))
            {
                if (!m.IsGenericMethodDefinition)
                {
                    yield return ($"{type.Name}.{m.Name}", m);
                    continue;
                }
                var args = m.GetGenericArguments();
                var choices = args.Select(a => structs.Where(s => a.GetGenericParameterConstraints().All(c => c.IsAssignableFrom(s))).ToList()).ToList();
                foreach (var combo in Cartesian(choices))
                    yield return ($"{type.Name}.{m.Name}<{string.Join(",", combo.Select(t => t.Name))}>", m.MakeGenericMethod(combo));
            }
        }
    }

    private static IEnumerable<Type[]> Cartesian(List<List<Type>> choices)
    {
        IEnumerable<Type[]> result = [[]];
        foreach (var c in choices)
            result = result.SelectMany(prefix => c.Select(t => prefix.Append(t).ToArray()));
        return result;
    }

    internal static EntryPointDescription Entry(MethodInfo m) =>
        m.GetParameters().Length > 0 && m.GetParameters()[0].ParameterType.Name.StartsWith("Index", StringComparison.Ordinal)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(m)
            : EntryPointDescription.FromExplicitlyGroupedKernel(m);

    internal static MethodInfo Find(string name) => Kernels().First(k => k.Name == name).Method;

    [Fact]
    public void EveryKernelIsFound()
    {
        var names = Kernels().Select(k => k.Name).ToList();
        Assert.Contains("RowKernels.LogitLossKernel", names);
        Assert.Contains("RowKernels.RowReduceKernel<EntropyTerm>", names);
        Assert.Contains("RandomKernels.NormalKernel", names);
        Assert.Contains("TableKernels.JointEntropiesKernel", names);
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void CompilesToPtx(string name)
    {
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null!);
        var compiled = (PTXCompiledKernel)backend.Compile(Entry(Find(name)), KernelSpecialization.Empty);
        Assert.Contains(".entry", compiled.PTXAssembly);
        Assert.DoesNotContain("call.uni", compiled.PTXAssembly.Split('\n').Where(l => l.Contains("System.", StringComparison.Ordinal)));
    }

    /// <summary>
    /// No kernel computes in float64 (consumer and data-center GPUs alike run it at a fraction
    /// of the float32 rate, and OpenCL devices may lack it): its PTX has no .f64 instruction.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelNames))]
    public void PtxHasNoFloat64(string name)
    {
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null!);
        var compiled = (PTXCompiledKernel)backend.Compile(Entry(Find(name)), KernelSpecialization.Empty);
        var f64 = compiled.PTXAssembly.Split('\n').Where(l => l.Contains(".f64", StringComparison.Ordinal)).Take(3).ToList();
        Assert.True(f64.Count == 0, $"{name} computes in float64:\n{string.Join('\n', f64)}");
    }

    [SkippableTheory]
    [MemberData(nameof(KernelNames))]
    public void CompilesToOpenCLCThatClangAccepts(string name)
    {
        string source = OpenCLSource(Find(name));
        Assert.Contains("kernel", source);
        Skip.If(Clang is null, "clang-15 is not installed (apt-get install clang-15): generated OpenCL C not checked");
        string dir = TestPaths.TempDir();
        string file = Path.Combine(dir, "kernel.cl");
        File.WriteAllText(file, source);
        var psi = new ProcessStartInfo(Clang!, ["-cl-std=CL2.0", "-Xclang", "-finclude-default-header", "-fsyntax-only", "-Wno-everything", file])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(psi)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"clang rejected the OpenCL C of {name}:\n{string.Join('\n', errors.Split('\n').Take(20))}");
    }

    internal static string OpenCLSource(MethodInfo kernel)
    {
        using var context = Context.Create(b => b.EnableAlgorithms());
        var capabilities = (CLCapabilityContext)Activator.CreateInstance(
            typeof(CLCapabilityContext),
            typeof(CLCapabilityContext).GetConstructors().Single().GetParameters().Select(p => (object)(p.Name is "float64" or "int64Atomics" or "float16" ? false : true)).ToArray())!;
        using var backend = new CLBackend(context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty);
        return compiled.Source;
    }

    private static readonly string? Clang = new[] { "/usr/bin/clang-15", "/usr/bin/clang" }.FirstOrDefault(File.Exists);
}
