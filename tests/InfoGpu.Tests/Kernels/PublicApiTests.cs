using System.Reflection;
using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Tests.Kernels;

/// <summary>
/// The public API is the engine: InfoGpu.Kernels exports nothing, no public signature of
/// InfoGpu.Engine mentions a kernels type, and the console builds on the engine alone.
/// </summary>
public class PublicApiTests
{
    private static readonly Assembly KernelsAssembly = typeof(Philox).Assembly;

    [Fact]
    public void KernelsAssemblyExportsNoType()
    {
        var exported = KernelsAssembly.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal).ToList();
        Assert.True(exported.Count == 0, $"InfoGpu.Kernels exports {exported.Count} types (make them internal):\n" + string.Join("\n", exported));
    }

    [Fact]
    public void EngineSignaturesMentionNoKernelsType()
    {
        var types = typeof(ComputeDevice).Assembly.GetExportedTypes();
        Assert.NotEmpty(types);
        var offenders = Leaks(types, KernelsAssembly);
        Assert.True(offenders.Count == 0, $"{offenders.Count} public signatures of InfoGpu.Engine use InfoGpu.Kernels types:\n" + string.Join("\n", offenders));
    }

    /// <summary>The walk finds what it looks for: every kind of leak in <see cref="LeakProbe"/> and <see cref="LeakProbe{T}"/> is reported, the private members are not.</summary>
    [Fact]
    public void SignatureWalkFindsLeaks()
    {
        var offenders = Leaks([typeof(LeakProbe), typeof(LeakProbe<>)], KernelsAssembly);
        string all = string.Join("\n", offenders);
        string probe = typeof(LeakProbe).FullName!, generic = typeof(LeakProbe<>).FullName!;
        foreach (string leak in new[]
        {
            $"{probe} base type: {typeof(PhiloxBlock).FullName}",
            $"{probe} interface: {typeof(GemmLayoutCode).FullName}",
            $"{probe} field Blocks: {typeof(PhiloxBlock).FullName}",
            $"{probe} property Layout: {typeof(GemmLayoutCode).FullName}",
            $"{probe} method Fill return: {typeof(PhiloxBlock).FullName}",
            $"{probe} method Fill parameter activation: {typeof(GemmActivationCode).FullName}",
            $"{probe} constructor parameter layout: {typeof(GemmLayoutCode).FullName}",
            $"{probe} event Changed: {typeof(PhiloxBlock).FullName}",
            $"{probe} method Generic generic constraint: {typeof(IRowTerm).FullName}",
            $"{generic} generic constraint: {typeof(IRowTerm).FullName}",
        })
        {
            Assert.Contains(leak, offenders);
        }
        Assert.DoesNotContain("idden", all, StringComparison.Ordinal);
        Assert.Empty(Leaks([typeof(ComputeDevice)], KernelsAssembly));
    }

    [Fact]
    public void ConsoleDoesNotReferenceTheKernels()
    {
        var host = typeof(InfoGpu.Host.Bench.SgemmProbe).Assembly;
        var names = host.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("InfoGpu.Engine", names);
        Assert.DoesNotContain("InfoGpu.Kernels", names);
    }

    /// <summary>
    /// "Type member: kernels type" for every use of a type from <paramref name="forbidden"/> in
    /// the visible (public or protected) surface of <paramref name="types"/>: base types,
    /// interfaces, generic constraints, and the types of fields, properties, events,
    /// constructors and methods (return, parameters, generic constraints), arrays, pointers,
    /// by-refs and generic arguments included.
    /// </summary>
    internal static List<string> Leaks(IEnumerable<Type> types, Assembly forbidden)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var t in types)
        {
            void Check(Type? used, string where)
            {
                foreach (var u in Mentioned(used))
                {
                    if (u.Assembly == forbidden)
                        found.Add($"{t.FullName} {where}: {u.FullName ?? u.Name}");
                }
            }

            Check(t.BaseType, "base type");
            foreach (var i in t.GetInterfaces())
                Check(i, "interface");
            if (t.IsGenericTypeDefinition)
            {
                foreach (var g in t.GetGenericArguments())
                    Check(g, "generic constraint");
            }
            foreach (var m in t.GetMembers(all))
            {
                switch (m)
                {
                    case FieldInfo f when f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly:
                        Check(f.FieldType, $"field {f.Name}");
                        break;
                    case PropertyInfo p when p.GetAccessors(true).Any(Visible):
                        Check(p.PropertyType, $"property {p.Name}");
                        foreach (var ip in p.GetIndexParameters())
                            Check(ip.ParameterType, $"property {p.Name} index");
                        break;
                    case EventInfo e when e.AddMethod is { } add && Visible(add):
                        Check(e.EventHandlerType, $"event {e.Name}");
                        break;
                    case MethodBase mb when Visible(mb):
                        string what = mb is ConstructorInfo ? "constructor" : $"method {mb.Name}";
                        if (mb is MethodInfo mi)
                        {
                            Check(mi.ReturnType, $"{what} return");
                            if (mi.IsGenericMethodDefinition)
                            {
                                foreach (var g in mi.GetGenericArguments())
                                    Check(g, $"{what} generic constraint");
                            }
                        }
                        foreach (var prm in mb.GetParameters())
                            Check(prm.ParameterType, $"{what} parameter {prm.Name}");
                        break;
                }
            }
        }
        return [.. found];
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    /// <summary>The type and every type inside it: element types, generic arguments, generic parameters' constraints.</summary>
    private static IEnumerable<Type> Mentioned(Type? type)
    {
        var seen = new HashSet<Type>();
        var stack = new Stack<Type>();
        if (type is not null)
            stack.Push(type);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!seen.Add(t))
                continue;
            yield return t;
            if (t.HasElementType)
                stack.Push(t.GetElementType()!);
            if (t.IsGenericParameter)
            {
                foreach (var c in t.GetGenericParameterConstraints())
                    stack.Push(c);
            }
            else if (t.IsGenericType)
            {
                foreach (var a in t.GetGenericArguments())
                    stack.Push(a);
            }
        }
    }

#pragma warning disable CA1051, CA1710, CS0067, CA1812, CA1822
    /// <summary>A type whose visible surface uses kernels types in every way the walk looks at.</summary>
    internal sealed class LeakProbe : List<PhiloxBlock>, IComparable<GemmLayoutCode>
    {
        public PhiloxBlock[] Blocks = [];

        private readonly PhiloxBlock hiddenField = new(1, 2, 3, 4);

        public LeakProbe(GemmLayoutCode layout) => Layout = layout;

        public event Action<List<PhiloxBlock>>? Changed;

        public GemmLayoutCode Layout { get; }

        public int CompareTo(GemmLayoutCode other) => 0;

        public PhiloxBlock Fill(ref GemmActivationCode activation) => HiddenMethod();

        public void Generic<T>()
            where T : IRowTerm
        {
        }

        private PhiloxBlock HiddenMethod() => hiddenField;
    }

    /// <summary>A generic type constrained by a kernels type.</summary>
    internal sealed class LeakProbe<T>
        where T : IRowTerm
    {
    }
#pragma warning restore CA1051, CA1070, CS0067, CA1812, CA1822
}
